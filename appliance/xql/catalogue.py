"""What XQL knows: stages, functions, operators' keywords and ``xdr_data`` fields.

The lists follow the Cortex Query Language reference (stages, functions and
aggregates) and the fields that Cortex XDR agents write to ``xdr_data``. A field
outside :data:`XDR_DATA_FIELDS` is only a warning: tenants add fields, and
``alter`` creates new ones.
"""

from __future__ import annotations

STAGES = frozenset(
    {
        "alter",
        "arrayexpand",
        "bin",
        "call",
        "cold_dataset",
        "comp",
        "config",
        "datamodel",
        "dataset",
        "dedup",
        "fields",
        "filter",
        "getrole",
        "iploc",
        "join",
        "limit",
        "preset",
        "replacenull",
        "sort",
        "tag",
        "target",
        "top",
        "transaction",
        "union",
        "view",
        "windowcomp",
    }
)

# Stages that name the data a query reads; they come first.
SOURCE_STAGES = frozenset({"dataset", "cold_dataset", "preset", "datamodel"})

CONFIG_KEYS = frozenset({"case_sensitive", "timeframe"})
JOIN_OPTIONS = frozenset({"type", "conflict_strategy"})
JOIN_TYPES = frozenset({"inner", "left", "right", "cross", "full"})
IPLOC_ATTRIBUTES = frozenset(
    {
        "loc_asn",
        "loc_asn_org",
        "loc_city",
        "loc_continent",
        "loc_country",
        "loc_latlon",
        "loc_region",
        "loc_timezone",
    }
)

# Aggregates: only ``comp``, ``windowcomp`` and similar stages may call them.
# Each maps to (fewest, most) arguments; None means any number.
AGGREGATES: dict[str, tuple[int, int | None]] = {
    "approx_count": (1, 1),
    "approx_quantiles": (2, 3),
    "approx_top": (2, 3),
    "avg": (1, 1),
    "count": (0, 1),
    "count_distinct": (1, 1),
    "earliest": (1, 1),
    "first": (1, 1),
    "last": (1, 1),
    "latest": (1, 1),
    "list": (1, 2),
    "max": (1, 1),
    "median": (1, 1),
    "min": (1, 1),
    "stddev_population": (1, 1),
    "stddev_sample": (1, 1),
    "sum": (1, 1),
    "values": (1, 1),
    "var": (1, 1),
}

# Window functions, for ``windowcomp`` only (besides the aggregates).
WINDOW_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "first_value": (1, 1),
    "lag": (1, 3),
    "last_value": (1, 1),
    "lead": (1, 3),
    "rank": (0, 0),
    "row_number": (0, 0),
    "dense_rank": (0, 0),
    "percent_rank": (0, 0),
    "cume_dist": (0, 0),
    "nth_value": (2, 2),
    "ntile": (1, 1),
}

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "add": (2, 2),
    "array_all": (2, 2),
    "array_any": (2, 2),
    "array_length": (1, 1),
    "arrayconcat": (2, None),
    "arraycreate": (1, None),
    "arraydistinct": (1, 1),
    "arrayfilter": (2, 2),
    "arrayindex": (2, 2),
    "arrayindexof": (2, 2),
    "arraymap": (2, 2),
    "arraymerge": (1, 1),
    "arrayrange": (3, 3),
    "arraystring": (2, 2),
    "bitwise_and": (2, 2),
    "bitwise_not": (1, 1),
    "bitwise_or": (2, 2),
    "bitwise_xor": (2, 2),
    "coalesce": (1, None),
    "concat": (1, None),
    "convert_from_base_64": (1, 1),
    "current_time": (0, 0),
    "date_floor": (2, 3),
    "divide": (2, 2),
    "extract_time": (2, 2),
    "extract_url_host": (1, 1),
    "extract_url_pub_suffix": (1, 1),
    "extract_url_registered_domain": (1, 1),
    "floor": (1, 1),
    "format_string": (1, None),
    "format_timestamp": (2, 3),
    "if": (2, None),
    "incidr": (2, 2),
    "incidr6": (2, 2),
    "incidrlist": (2, 2),
    "int_to_ip": (1, 1),
    "ip_to_int": (1, 1),
    "is_ipv4": (1, 1),
    "is_ipv6": (1, 1),
    "is_known_private_ipv4": (1, 1),
    "is_known_private_ipv6": (1, 1),
    "json_extract": (2, 2),
    "json_extract_array": (2, 2),
    "json_extract_scalar": (2, 2),
    "json_extract_scalar_array": (2, 2),
    "len": (1, 1),
    "lowercase": (1, 1),
    "ltrim": (1, 2),
    "multiply": (2, 2),
    "object_create": (2, None),
    "object_merge": (2, None),
    "parse_epoch": (2, 3),
    "parse_timestamp": (2, 3),
    "pow": (2, 2),
    "regexcapture": (2, 2),
    "regextract": (2, 2),
    "replace": (3, 3),
    "replex": (3, 3),
    "round": (1, 2),
    "rtrim": (1, 2),
    "split": (1, 2),
    "string_count": (2, 2),
    "subtract": (2, 2),
    "time_frame_end": (0, 0),
    "timestamp_diff": (3, 3),
    "timestamp_seconds": (1, 1),
    "to_boolean": (1, 1),
    "to_epoch": (1, 2),
    "to_float": (1, 1),
    "to_integer": (1, 1),
    "to_json_string": (1, 1),
    "to_number": (1, 1),
    "to_string": (1, 1),
    "to_timestamp": (1, 2),
    "trim": (1, 2),
    "uppercase": (1, 1),
    "wildcard_match": (2, 2),
}

# Enum values that appear bare or as ENUM.<value> (event_type = ENUM.PROCESS).
ENUM_VALUES = frozenset(
    {
        "PROCESS",
        "NETWORK",
        "FILE",
        "REGISTRY",
        "INJECTION",
        "LOAD_IMAGE",
        "STORY",
        "EVENT_LOG",
        "SYSTEM_CALL",
        "RPC_CALL",
        "DEVICE",
        "THREAD",
        "USER_STATUS_CHANGE",
        "HOST_STATUS_CHANGE",
        "PROCESS_START",
        "PROCESS_STOP",
        "FILE_CREATE_NEW",
        "FILE_OPEN",
        "FILE_WRITE",
        "FILE_RENAME",
        "FILE_REMOVE",
        "FILE_LINK",
        "FILE_SET_ATTRIBUTES",
        "FILE_DIR_CREATE",
        "FILE_DIR_RENAME",
        "FILE_DIR_REMOVE",
        "REGISTRY_CREATE_KEY",
        "REGISTRY_DELETE_KEY",
        "REGISTRY_RENAME_KEY",
        "REGISTRY_SET_VALUE",
        "REGISTRY_DELETE_VALUE",
        "REGISTRY_LOAD",
        "REGISTRY_SAVE",
        "NETWORK_STREAM",
        "NETWORK_CONNECT",
        "NETWORK_ACCEPT",
        "NETWORK_BIND",
        "NETWORK_CLOSE",
        "LOAD_MODULE",
        "AGENT_OS_WINDOWS",
        "AGENT_OS_LINUX",
        "AGENT_OS_MAC",
        "TCP",
        "UDP",
        "ICMP",
    }
)

_PROCESS_ATTRIBUTES = (
    "image_name",
    "image_path",
    "image_sha256",
    "image_md5",
    "command_line",
    "image_command_line",
    "os_pid",
    "instance_id",
    "causality_id",
    "signature_vendor",
    "signature_product",
    "signature_status",
    "file_create_time",
    "image_extension",
)

_OTHER_XDR_FIELDS = """
_time _insert_time _product _vendor _raw_log insert_timestamp event_id event_type
event_sub_type event_timestamp event_version agent_id agent_hostname
agent_ip_addresses agent_ip_addresses_v6 agent_os_type agent_os_sub_type
agent_version agent_device_domain agent_fqdn agent_content_version
agent_install_type agent_is_vdi agent_session_start_time
actor_effective_username actor_effective_user_sid actor_primary_username
actor_primary_user_sid actor_primary_normalized_user actor_causality_id
actor_thread_thread_id actor_is_injected_thread os_actor_effective_username
os_actor_primary_username causality_actor_effective_username
causality_actor_primary_username causality_actor_remote_host
causality_actor_remote_ip causality_actor_causality_id
causality_actor_process_execution_time action_process_username
action_process_user_sid action_process_integrity_level action_process_is_container_root
action_process_termination_code action_process_termination_date
action_file_name action_file_path action_file_sha256 action_file_md5
action_file_extension action_file_size action_file_previous_file_name
action_file_previous_file_path action_file_previous_file_extension
action_file_type action_file_attributes action_file_signature_vendor
action_file_signature_product action_file_signature_status
action_file_create_time action_file_mod_time action_file_access_time
action_file_device_type action_file_info action_file_wildfire_verdict
action_registry_key_name action_registry_value_name action_registry_data
action_registry_value_type action_registry_old_key_name
action_registry_file_path action_local_ip action_local_ip_v6 action_local_port
action_remote_ip action_remote_ip_v6 action_remote_port action_network_protocol
action_network_connection_id action_network_is_ipv6 action_network_dpi_fields
action_external_hostname dst_action_external_hostname dst_action_external_port
dns_query_name dns_query_type dns_reply dst_agent_id dst_agent_hostname
action_app_id_transitions action_total_download action_total_upload
action_upload action_download action_country action_as_data action_proxy
action_pkts_sent action_pkts_received action_session_duration
action_module_path action_module_sha256 action_module_md5
action_module_file_info action_module_file_create_time
action_module_signature_vendor action_module_signature_product
action_module_signature_status action_module_is_signed
action_evtlog_event_id action_evtlog_message action_evtlog_provider_name
action_evtlog_level action_evtlog_tid action_evtlog_uid action_evtlog_pid
action_evtlog_data_fields action_evtlog_source action_evtlog_description
action_syscall_type action_rpc_func_opnum action_rpc_interface_uuid
action_user_status action_thread_thread_id action_injected_process_instance_id
action_remote_process_image_name action_remote_process_image_path
action_remote_process_image_command_line action_remote_process_os_pid
action_remote_process_thread_id action_remote_process_thread_start_address
action_device_usb_vendor_name action_device_usb_product_name
action_device_usb_serial_number action_device_bus_type action_device_class
action_boot_ip action_username action_user_sid host_os_type
mac agent_mac_addresses backtrace_identities backtrace_frames
"""


def _xdr_fields() -> frozenset[str]:
    """Return every ``xdr_data`` field name the validator knows."""
    fields = set(_OTHER_XDR_FIELDS.split())
    for prefix in (
        "actor_process",
        "action_process",
        "causality_actor_process",
        "os_actor_process",
        "os_parent",
        "action_process_parent",
    ):
        fields.update(f"{prefix}_{attribute}" for attribute in _PROCESS_ATTRIBUTES)
    fields.update(
        {
            "os_actor_process_causality_id",
            "actor_process_execution_time",
            "action_process_requested_parent_pid",
            "action_process_file_create_time",
            "actor_process_image_arch",
            "action_process_image_arch",
        }
    )

    return frozenset(fields)


XDR_DATA_FIELDS = _xdr_fields()

# Datasets (and presets) whose fields are the xdr_data fields above.
XDR_FIELD_SOURCES = frozenset(
    {
        "xdr_data",
        "xdr_process",
        "xdr_file",
        "xdr_network",
        "xdr_registry",
        "xdr_event_log",
        "network_story",
        "authentication_story",
        "xdr_image_load",
    }
)
DEFAULT_DATASET = "xdr_data"
