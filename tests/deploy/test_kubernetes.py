"""The Kubernetes manifests validate against the API schema and keep to the design."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, SETTING_NAMES, undeclared_settings

KUBE = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.33.0"
MANIFESTS = sorted(p for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in MANIFESTS:
        docs += [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [
        d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name
    ]
    assert len(found) == 1, (kind, name)
    return found[0]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates_strictly(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text("utf-8"))

    assert set(kustomization["resources"]) == {
        p.name for p in MANIFESTS if p.name != "secret.example.yaml"
    }


def test_every_appliance_variable_is_a_declared_setting() -> None:
    for path in MANIFESTS:
        assert undeclared_settings(path.read_text(encoding="utf-8")) == set(), path
    config = _one("ConfigMap", "appliance-settings")
    assert set(config["data"]) <= SETTING_NAMES


def test_api_is_ready_only_when_readyz_says_so() -> None:
    pod = _one("Deployment", "appliance-api")["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_workers_scale_out_and_rebuild_their_index() -> None:
    worker = _one("Deployment", "appliance-worker")
    pod = worker["spec"]["template"]["spec"]

    assert worker["spec"]["replicas"] > 1
    assert pod["initContainers"][0]["args"] == ["index", "rebuild"]
    assert pod["containers"][0]["args"] == ["worker"]


def test_vllm_asks_for_a_gpu_node() -> None:
    pod = _one("Deployment", "vllm")["spec"]["template"]["spec"]

    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"]


def test_egress_goes_only_to_dns_the_namespace_and_the_xdr_api() -> None:
    deny = _one("NetworkPolicy", "appliance-default-deny")["spec"]
    egress = _one("NetworkPolicy", "appliance-egress")["spec"]["egress"]

    assert deny["podSelector"] == {} and "Egress" in deny["policyTypes"]
    outside = [peer for rule in egress for peer in rule["to"] if "ipBlock" in peer]
    assert len(outside) == 1
    xdr_rule = next(r for r in egress if any("ipBlock" in p for p in r["to"]))
    assert xdr_rule["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "except" not in outside[0]["ipBlock"]
    assert outside[0]["ipBlock"]["cidr"] != "0.0.0.0/0"
    dns = next(r for r in egress if {"port": 53, "protocol": "UDP"} in r["ports"])
    assert dns["to"][0]["namespaceSelector"]
