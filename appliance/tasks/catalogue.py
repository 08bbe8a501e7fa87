"""The response actions the appliance may recommend (it executes none of them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResponseAction:
    """One kind of response action, its target kind, effect and risk."""

    action: str
    target: str
    summary: str
    business_effect: str
    risk: str


CATALOGUE: dict[str, ResponseAction] = {
    a.action: a
    for a in [
        ResponseAction(
            "isolate_endpoint",
            "host",
            "Isolate the endpoint from the network with the XDR agent.",
            "The host's user and services lose the network until it is released.",
            "Low for a workstation; for a server, its dependants stop working.",
        ),
        ResponseAction(
            "kill_process",
            "process",
            "Terminate the process on the endpoint.",
            "Only the process stops.",
            "Evidence in memory is lost; collect forensics first if needed.",
        ),
        ResponseAction(
            "block_hash",
            "hash",
            "Add the file hash to the XDR block list.",
            "Nothing legitimate should run this file.",
            "Blocks a signed admin tool everywhere if it is one; scope the policy.",
        ),
        ResponseAction(
            "block_ip",
            "ip",
            "Block the remote IP address on the firewall (EDL).",
            "Connections to the address stop for every host.",
            "Shared hosting can carry legitimate services on the same address.",
        ),
        ResponseAction(
            "block_domain",
            "domain",
            "Block the domain on the DNS and web proxy.",
            "Lookups of the domain and its sub-domains fail.",
            "Low unless the domain hosts a business service.",
        ),
        ResponseAction(
            "disable_account",
            "user",
            "Disable the account until it is investigated.",
            "The user and anything running as the account stop working.",
            "Service accounts: dependent jobs fail.",
        ),
        ResponseAction(
            "reset_credentials",
            "user",
            "Reset the account's password, revoke sessions and keys.",
            "The user signs in again.",
            "Low; service accounts need the new secret wherever they are used.",
        ),
        ResponseAction(
            "collect_forensics",
            "host",
            "Collect a triage image (memory, event logs, artefacts) from the host.",
            "None beyond some load on the host.",
            "Low.",
        ),
        ResponseAction(
            "run_playbook",
            "playbook",
            "Run the named Cortex XSOAR playbook for this incident type.",
            "As the playbook's own steps.",
            "As the playbook's own steps; it may ask for approvals.",
        ),
    ]
}
