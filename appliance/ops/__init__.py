"""Operating the appliance: backup and restore of everything it keeps."""
