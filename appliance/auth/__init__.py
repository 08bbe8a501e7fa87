"""Who may call the appliance: accounts, API keys, sessions, roles and CSRF."""
