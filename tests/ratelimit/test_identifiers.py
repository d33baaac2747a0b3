"""Who a request counts against: the client IP only as our own proxies saw it, and the e-mail."""

from __future__ import annotations

import pytest

from backend.ratelimit import auth_identifier, client_ip


def test_without_trusted_proxies_the_socket_peer_is_the_client_and_the_header_is_ignored():
    assert client_ip("198.51.100.9", "1.2.3.4", trusted_hops=0) == "198.51.100.9"


def test_spoofed_leftmost_forwarded_for_is_ignored_behind_one_trusted_proxy():
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the address it saw.
    header = "1.2.3.4, 203.0.113.7"

    assert client_ip("10.0.0.2", header, trusted_hops=1) == "203.0.113.7"


def test_two_trusted_hops_take_the_second_entry_from_the_right():
    header = "1.2.3.4, 203.0.113.7, 10.0.0.5"

    assert client_ip("10.0.0.2", header, trusted_hops=2) == "203.0.113.7"


def test_repeated_forwarded_for_headers_count_as_one_list():
    assert client_ip("10.0.0.2", ["1.2.3.4", "203.0.113.7"], trusted_hops=1) == "203.0.113.7"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "no header"),
        ("", "empty header"),
        ("203.0.113.7", "fewer entries than trusted hops"),
        ("1.2.3.4, not-an-ip", "the entry our proxy should have written is not an address"),
    ],
)
def test_unusable_forwarded_for_falls_back_to_the_socket_peer(header, why):
    trusted_hops = 2 if why == "fewer entries than trusted hops" else 1

    assert client_ip("10.0.0.2", header, trusted_hops=trusted_hops) == "10.0.0.2", why


def test_addresses_are_normalised_ports_brackets_and_ipv4_mapped_forms_removed():
    assert client_ip("10.0.0.2", "203.0.113.7:51234", trusted_hops=1) == "203.0.113.7"
    assert client_ip("10.0.0.2", "[2001:db8::1]:443", trusted_hops=1) == "2001:db8::1"
    assert client_ip("::ffff:198.51.100.9", None, trusted_hops=0) == "198.51.100.9"


def test_negative_trusted_hops_are_refused():
    with pytest.raises(ValueError, match="negative"):
        client_ip("10.0.0.2", None, trusted_hops=-1)


def test_auth_identifier_ignores_the_case_and_spaces_of_the_email():
    assert auth_identifier("203.0.113.7", " Ann@Example.COM ") == auth_identifier(
        "203.0.113.7", "ann@example.com"
    )


def test_auth_identifier_differs_by_address_and_by_email():
    base = auth_identifier("203.0.113.7", "ann@example.com")

    assert base != auth_identifier("203.0.113.8", "ann@example.com")
    assert base != auth_identifier("203.0.113.7", "bob@example.com")


def test_auth_identifier_counts_an_ipv6_client_per_64_block():
    one = auth_identifier("2001:db8:1:2::1", "ann@example.com")

    assert one == auth_identifier("2001:db8:1:2:ffff::9", "ann@example.com")
    assert one != auth_identifier("2001:db8:1:3::1", "ann@example.com")


def test_auth_identifier_keeps_no_email_or_address_in_the_clear():
    identifier = auth_identifier("203.0.113.7", "ann@example.com")

    assert "ann" not in identifier
    assert "203.0.113" not in identifier
