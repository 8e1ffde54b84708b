"""A secured local broker: TLS with a throw-away CA, SASL/SCRAM logins, ACLs enforced.

``LocalKafkaCluster(work_dir, security=LocalSecurity(admin_password=...))`` writes into
``work_dir/tls/`` a new CA and a broker certificate for ``127.0.0.1``/``localhost`` (kept
across restarts), and runs every node with:

- the client listener ``SASL_SSL`` (SCRAM-SHA-256 and -512), also the inter-broker
  listener (the brokers log in as the admin user);
- the controller listener ``PLAINTEXT`` on loopback, as before: its principal is
  ``User:ANONYMOUS``, which must therefore be a super user. Anyone on this machine could
  reach the controller port: this is a development broker, never a production setup;
- the admin user's SCRAM credential written at ``kafka-storage format`` time
  (``--add-scram``), so no plaintext listener is needed to create the first user;
- ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: a user may do
  only what an ACL allows (``tapewire kafka acl``), the admin everything.

Clients trust ``ca_file`` (``LocalKafkaCluster.ca_file``).
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tapewire.core.kafka import KafkaSecurity, ScramMechanism

LISTENER = "SASL_SSL"
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class LocalSecurity:
    """The local broker's security: its admin (super) user and the SCRAM mechanism its
    brokers log in with. The password must not contain ``,``, ``[``, ``]`` or ``"``
    (the format tool's syntax)."""

    admin_password: SecretStr = field(repr=False)
    admin_user: str = "admin"
    mechanism: ScramMechanism = "SCRAM-SHA-512"

    def __post_init__(self) -> None:
        bad = set(',[]"=\\') & set(self.admin_password.get_secret_value())
        if bad or not self.admin_password.get_secret_value():
            raise ValueError('the local admin password must be non-empty, without , [ ] " = \\')

    def admin(self, ca_file: Path) -> KafkaSecurity:
        """Client settings of the admin user."""
        return KafkaSecurity(
            protocol="SASL_SSL",
            mechanism=self.mechanism,
            username=self.admin_user,
            password=self.admin_password,
            ca_file=ca_file,
        )

    def scram_argument(self) -> str:
        """The ``kafka-storage format --add-scram`` value of the admin user."""
        password = self.admin_password.get_secret_value()
        return f"{self.mechanism}=[name={self.admin_user},password={password}]"


@dataclass(frozen=True)
class TlsFiles:
    """The CA (PEM, for clients) and the broker's PKCS#12 key store and its password."""

    ca_file: Path
    keystore: Path
    keystore_password: str = field(repr=False)


def ensure_tls(directory: Path) -> TlsFiles:
    """The CA and broker certificate in ``directory``, created on first use (valid 10
    years, ECDSA P-256, SAN ``IP:127.0.0.1``, ``DNS:localhost``)."""
    ca_file = directory / "ca.pem"
    keystore = directory / "broker.p12"
    password_file = directory / "broker.p12.password"
    if ca_file.is_file() and keystore.is_file() and password_file.is_file():
        return TlsFiles(ca_file, keystore, password_file.read_text(encoding="ascii").strip())
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tapewire local Kafka CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_hex(16)
    store = pkcs12.serialize_key_and_certificates(
        b"broker",
        key,
        cert,
        [ca_cert],
        serialization.BestAvailableEncryption(password.encode()),
    )
    _write_private(keystore, store)
    _write_private(password_file, password.encode())
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(ca_file, keystore, password)


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)


def security_properties(
    security: LocalSecurity, tls: TlsFiles, *, port: int, controller_port: int
) -> dict[str, str]:
    """The ``server.properties`` entries of one secured node (they replace the plaintext
    listener of :func:`~tapewire.runtime.kafka_local.properties.server_properties`)."""
    password = security.admin_password.get_secret_value()
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{security.admin_user}" password="{password}";'
    )
    listener = LISTENER.lower()
    props = {
        "listeners": f"{LISTENER}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"{LISTENER}://127.0.0.1:{port}",
        "listener.security.protocol.map": f"{LISTENER}:SASL_SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": LISTENER,
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "sasl.mechanism.inter.broker.protocol": security.mechanism,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.keystore),
        "ssl.keystore.password": tls.keystore_password,
        # the brokers' own clients (inter-broker) trust the CA
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca_file),
        "ssl.client.auth": "none",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{security.admin_user};User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
    }
    for mechanism in MECHANISMS:
        props[f"listener.name.{listener}.{mechanism.lower()}.sasl.jaas.config"] = jaas
    return props
