"""XQL, the Cortex Query Language: parse, validate and build hunting queries."""

from appliance.xql.errors import Diagnostic, XqlSyntaxError
from appliance.xql.parser import parse
from appliance.xql.validator import Validation, validate

__all__ = ["Diagnostic", "Validation", "XqlSyntaxError", "parse", "validate"]
