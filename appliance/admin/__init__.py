"""The admin console: server-rendered pages for SOC leads, analysts and viewers."""
