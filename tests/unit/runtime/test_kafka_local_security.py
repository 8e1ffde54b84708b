"""The secured local broker's files and properties (no JVM: the integration test
``tests/integration/deploy/test_kafka_security.py`` runs the broker)."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import SecretStr

from tapewire.runtime.kafka_local.security import LocalSecurity, ensure_tls, security_properties


def test_tls_files_are_made_once_with_the_loopback_names(tmp_path: Path) -> None:
    tls = ensure_tls(tmp_path / "tls")
    assert ensure_tls(tmp_path / "tls") == tls  # kept across restarts
    assert stat.S_IMODE(tls.keystore.stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert tls.keystore_password not in repr(tls)


def test_properties_open_a_sasl_ssl_listener_with_acls(tmp_path: Path) -> None:
    security = LocalSecurity(SecretStr("pw123"))
    props = security_properties(security, ensure_tls(tmp_path), port=9093, controller_port=9094)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:9093,CONTROLLER://127.0.0.1:9094"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin;User:ANONYMOUS"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert security.scram_argument() == "SCRAM-SHA-512=[name=admin,password=pw123]"
    admin = security.admin(tmp_path / "ca.pem")
    assert admin.client_settings()["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert "pw123" not in repr(security) + repr(admin)


def test_the_broker_certificate_names_127_0_0_1_and_localhost(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    tls = ensure_tls(tmp_path)
    store = pkcs12.load_pkcs12(tls.keystore.read_bytes(), tls.keystore_password.encode())
    assert store.cert is not None
    san = store.cert.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]


@pytest.mark.parametrize("password", ["", "a,b", "a]b", 'a"b'])
def test_passwords_the_format_tool_cannot_read_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="local admin password"):
        LocalSecurity(SecretStr(password))
