"""Kafka security operations: check a login, set SCRAM users, make ACLs match a list.

``check_login`` is what a role runs at start when ``[kafka.security]`` is on: one metadata
request as the process's principal, so a wrong password or an untrusted certificate is a
clear :class:`~tapewire.core.errors.KafkaRuntimeError` within seconds instead of a client
that retries forever. ``set_scram_users`` and ``sync_acls`` are the admin side of
``tapewire kafka acl`` (the role table is in :mod:`tapewire.deploy.acl`).

Passwords are :class:`~pydantic.SecretStr` and never appear in a message or a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

# what confluent_kafka.admin re-exports, typed (its __init__ has no __all__)
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import client_config, process_security

log = logging.getLogger(__name__)

SCRAM_ITERATIONS = 8192
_LOGIN_ERRORS = {
    KafkaError._AUTHENTICATION: "authentication failed",
    KafkaError._SSL: "TLS handshake failed",
}


def check_login(bootstrap: str, *, timeout_s: float = 15.0) -> None:
    """Log in to ``bootstrap`` with the process's settings (:func:`client_config`).

    Raises :class:`KafkaRuntimeError` naming the user as soon as the broker refuses the
    login or the TLS handshake; returns when a metadata request succeeds, or after
    ``timeout_s`` if the broker does not answer at all (the role's own clients wait for
    it then, as without security).
    """
    errors: list[KafkaError] = []
    admin = AdminClient(client_config(bootstrap) | {"error_cb": errors.append})
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=1.0)
            return
        except KafkaException:
            pass
        admin.poll(0.1)  # serves error_cb
        refused = next((e for e in errors if e.code() in _LOGIN_ERRORS), None)
        if refused is not None:
            raise _login_error(bootstrap, refused)
        if time.monotonic() >= deadline:
            log.warning("Kafka at %s did not answer within %gs", bootstrap, timeout_s)
            return


def _login_error(bootstrap: str, error: KafkaError) -> KafkaRuntimeError:
    security = process_security()
    who = f"user {security.username!r}" if security and security.username else "this client"
    what = _LOGIN_ERRORS[error.code()]
    if error.code() == KafkaError._AUTHENTICATION:
        hint = (
            "check the password in the variable kafka.security.password_env names, and that "
            "the user exists (tapewire kafka acl --config FILE creates the role users)"
        )
    else:
        hint = "check kafka.security.ca_file (the CA that signed the broker's certificate)"
    return KafkaRuntimeError(
        f"Kafka at {bootstrap} refused {who}: {what} ({error.str()})", hint=hint
    )


def set_scram_users(
    admin_settings: Mapping[str, Any],
    users: Mapping[str, SecretStr],
    mechanism: str = "SCRAM-SHA-512",
    *,
    timeout_s: float = 30.0,
) -> None:
    """Create or update the SCRAM credential of every user (admin rights needed)."""
    if not users:
        return
    admin = AdminClient(dict(admin_settings))
    info = ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, password.get_secret_value().encode())
        for user, password in users.items()
    ]
    futures = admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s)
    for user, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            raise KafkaRuntimeError(
                f"cannot set the SCRAM credential of user {user!r}: {exc.args[0].str()}",
                hint="run it with the admin user (kafka.security.admin_username)",
            ) from None


Operation = Literal["READ", "WRITE", "DESCRIBE", "CREATE"]


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW rule: ``principal`` may do ``operation`` on a topic or consumer group
    named ``name`` (every name starting with ``name`` when ``prefixed``), from any host."""

    principal: str
    resource: Literal["topic", "group"]
    name: str
    operation: Operation
    prefixed: bool = False

    def binding(self) -> AclBinding:
        """The confluent-kafka ACL binding."""
        return AclBinding(
            ResourceType.TOPIC if self.resource == "topic" else ResourceType.GROUP,
            self.name,
            ResourcePatternType.PREFIXED if self.prefixed else ResourcePatternType.LITERAL,
            self.principal,
            "*",
            AclOperation[self.operation],
            AclPermissionType.ALLOW,
        )

    @classmethod
    def from_binding(cls, binding: AclBinding) -> Grant | None:
        """The grant a binding read back from the broker is (None: not a kind we make)."""
        kinds = {ResourceType.TOPIC: "topic", ResourceType.GROUP: "group"}
        patterns = {ResourcePatternType.LITERAL: False, ResourcePatternType.PREFIXED: True}
        operation = getattr(binding.operation, "name", str(binding.operation))
        if (
            binding.restype not in kinds
            or binding.resource_pattern_type not in patterns
            or binding.permission_type != AclPermissionType.ALLOW
            or binding.host != "*"
            or operation not in ("READ", "WRITE", "DESCRIBE", "CREATE")
        ):
            return None
        return cls(
            principal=binding.principal,
            resource="topic" if binding.restype == ResourceType.TOPIC else "group",
            name=binding.name,
            operation=cast(Operation, operation),
            prefixed=patterns[binding.resource_pattern_type],
        )


@dataclass(frozen=True)
class AclChanges:
    """What :func:`sync_acls` did."""

    created: tuple[Grant, ...]
    deleted: tuple[Grant, ...]
    kept: int


def sync_acls(
    admin_settings: Mapping[str, Any], grants: Iterable[Grant], *, timeout_s: float = 30.0
) -> AclChanges:
    """Make the ALLOW ACLs of the grants' principals exactly ``grants``: create the
    missing ones, delete those of these principals that are not listed (a role that lost
    a right). ACLs of other principals are left alone."""
    wanted = set(grants)
    admin = AdminClient(dict(admin_settings))
    existing: set[Grant] = set()
    for principal in sorted({g.principal for g in wanted}):
        matcher = AclBindingFilter(
            ResourceType.ANY,
            None,  # type: ignore[arg-type]  # None matches any name (librdkafka)
            ResourcePatternType.ANY,
            principal,
            None,  # type: ignore[arg-type]  # any host
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        for binding in _result(admin.describe_acls(matcher, request_timeout=timeout_s), timeout_s):
            grant = Grant.from_binding(binding)
            if grant is not None:
                existing.add(grant)
    create = sorted(wanted - existing)
    delete = sorted(existing - wanted)
    if create:
        futures = admin.create_acls([g.binding() for g in create], request_timeout=timeout_s)
        for future in futures.values():
            _result(future, timeout_s)
    if delete:
        filters = [_exact_filter(g) for g in delete]
        deleted = admin.delete_acls(filters, request_timeout=timeout_s)
        for future in deleted.values():
            _result(future, timeout_s)
    return AclChanges(tuple(create), tuple(delete), len(wanted & existing))


def _exact_filter(grant: Grant) -> AclBindingFilter:
    binding = grant.binding()
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


def _result(future: Any, timeout_s: float) -> Any:
    try:
        return future.result(timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaRuntimeError(
            f"ACL request refused: {exc.args[0].str()}",
            hint="run it with the admin user (kafka.security.admin_username), a super user",
        ) from None
