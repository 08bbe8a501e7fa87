"""Context for an incident from local sources: CMDB, scans, threat intel and ATT&CK.

Each source kind is one connector behind :class:`~appliance.enrich.source.Source`;
:class:`~appliance.enrich.service.EnrichmentService` asks them all and returns an
:class:`~appliance.enrich.model.EnrichmentContext` that says what every source
returned and what failed.
"""
