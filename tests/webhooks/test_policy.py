"""The address and URL rules: unit tables, then the API refusing bad URLs at submit."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from aijobs.webhooks.policy import is_allowed, url_problem

LOOPBACK_RECEIVER = [ip_network("127.0.0.2/32")]

BLOCKED = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::10.0.0.1",  # IPv4-compatible
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2001:db8::1",
]
GLOBAL = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]


@pytest.mark.parametrize("address", BLOCKED)
def test_an_address_that_is_not_globally_routable_is_refused(address: str) -> None:
    assert not is_allowed(ip_address(address), [])


@pytest.mark.parametrize("address", GLOBAL)
def test_a_globally_routable_address_is_allowed(address: str) -> None:
    assert is_allowed(ip_address(address), [])


@pytest.mark.parametrize(
    ("address", "networks", "allowed"),
    [
        ("127.0.0.2", ["127.0.0.2/32"], True),
        ("::ffff:127.0.0.2", ["127.0.0.2/32"], True),
        ("127.0.0.1", ["127.0.0.2/32"], False),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("::1", ["127.0.0.0/8"], False),
        ("::1", ["::1"], True),
        ("fd00::5", ["fd00::/64"], True),
    ],
)
def test_an_allowed_network_lets_its_blocked_addresses_through(
    address: str, networks: list[str], allowed: bool
) -> None:
    assert is_allowed(ip_address(address), [ip_network(n) for n in networks]) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "https://hooks.example.com:8443/a/b?token=c",
        "https://8.8.8.8/",
        "https://[2606:4700::1]/hook",
        "http://127.0.0.2:9000/hook",
    ],
)
def test_a_url_that_follows_the_rules_is_accepted(url: str) -> None:
    assert url_problem(url, LOOPBACK_RECEIVER) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "must use https"),
        ("http://example.com/hook", "must use https"),
        ("http://8.8.8.8/hook", "must use https"),
        ("http://localhost:9000/hook", "must use https"),
        ("http://127.0.0.1:9000/hook", "address 127.0.0.1 is not allowed"),
        ("https://10.0.0.1/hook", "address 10.0.0.1 is not allowed"),
        ("https://192.168.0.10/hook", "address 192.168.0.10 is not allowed"),
        ("https://169.254.169.254/latest/meta-data", "address 169.254.169.254 is not allowed"),
        ("https://[::1]/hook", "address ::1 is not allowed"),
        ("https://[fd00::1]/hook", "address fd00::1 is not allowed"),
        ("https://[::ffff:10.0.0.1]/hook", "address ::ffff:a00:1 is not allowed"),
        ("https://user:secret@example.com/hook", "must not contain a user name or password"),
        ("https://token@example.com/hook", "must not contain a user name or password"),
        ("https:///hook", "has no host"),
        ("https://example.com:99999/hook", "is not a valid URL"),
        ("https://exa mple.com/hook", "must be ASCII without spaces"),
        ("https://exämple.com/hook", "must be ASCII without spaces"),
        ("https://example.com/" + "a" * 2048, "longer than 2048 characters"),
    ],
)
def test_a_url_that_breaks_a_rule_is_refused_with_the_rule(url: str, problem: str) -> None:
    assert problem in (url_problem(url, LOOPBACK_RECEIVER) or "")


def test_http_to_localhost_is_accepted_when_loopback_is_allowed() -> None:
    assert url_problem("http://localhost:9000/hook", [ip_network("127.0.0.0/8")]) is None


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hook", "must use https"),
        ("https://10.1.2.3/hook", "address 10.1.2.3 is not allowed"),
        ("https://192.168.1.1/hook", "address 192.168.1.1 is not allowed"),
        ("https://169.254.169.254/", "address 169.254.169.254 is not allowed"),
        ("https://[::1]/hook", "address ::1 is not allowed"),
        ("https://[fd00::1]/hook", "address fd00::1 is not allowed"),
        ("http://127.0.0.1:9000/hook", "address 127.0.0.1 is not allowed"),
        ("https://user:pass@example.com/hook", "user name or password"),
        ("https://example.com/" + "a" * 2048, "length <= 2048"),
    ],
)
async def test_submitting_a_job_with_a_forbidden_webhook_url_is_a_400(
    client: Any, url: str, problem: str
) -> None:
    response = await client.post("/jobs", json={"kind": "simulate", "webhook_url": url})

    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("webhook_url: ")
    assert problem in response.json()["detail"]


@pytest.mark.usefixtures("database")
async def test_a_batch_names_the_job_whose_webhook_url_is_forbidden(client: Any) -> None:
    good = {"kind": "simulate", "webhook_url": "https://example.com/hook"}
    bad = {"kind": "simulate", "webhook_url": "https://10.0.0.1/hook"}

    response = await client.post("/jobs/batch", json={"jobs": [good, bad]})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("jobs[1].webhook_url: address 10.0.0.1")


@pytest.mark.usefixtures("database")
async def test_a_job_with_an_allowed_webhook_url_is_accepted_with_no_webhook_state_yet(
    client: Any,
) -> None:
    body = {"kind": "simulate", "webhook_url": "http://127.0.0.2:9000/hook"}

    response = await client.post("/jobs", json=body)

    assert response.status_code == 202, response.text
    assert response.json()["webhook_url"] == body["webhook_url"]
    assert response.json()["webhook_state"] is None
