"""BACKWARD compatibility: every schema reads data written by each earlier committed version.

The committed versions come from git: every commit that touched ``schemas/avro`` (``git
rev-list HEAD -- schemas/avro``, so HEAD's versions are always among them), with all the
``.avsc`` files at that commit (named types resolve within one commit; versions are matched by
full name, so renamed files are followed). For each distinct old version of each schema:

1. a static check of the Avro schema-resolution rules (reader = working copy, writer = old),
   including logical types, which fastavro's resolution ignores (decimal scale, ns timestamps);
2. random records generated from the old schema are written with it and read with the current
   one, both through fastavro's own schema resolution and through the codec's decode path.

Not a git checkout, or a shallow clone: the history test fails with a message saying what to
do, unless ``TAPEWIRE_SKIP_GIT_HISTORY=1`` (then only the working copy is checked, and the
history test is reported as skipped with that reason).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from tapewire.schemas.loading import for_fastavro, load_schemas, self_contained
from tapewire.schemas.registry import AvroSchema, LocalSchemaRegistry, canonical_form
from tapewire.schemas.wire import AvroSerde

REPO = Path(__file__).resolve().parents[3]
AVRO_DIR = "schemas/avro"
SKIP_ENV = "TAPEWIRE_SKIP_GIT_HISTORY"
RECORDS_PER_VERSION = 60


class GitHistoryError(Exception):
    """The schema history cannot be read from git."""


@dataclass(frozen=True)
class SchemaVersion:
    """One committed version of one schema (self-contained), and where it first appeared."""

    name: str
    commit: str
    schema: AvroSchema


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(repo.parent)}
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False, env=env
        )
    except FileNotFoundError as exc:
        raise GitHistoryError(
            f"git is not installed, so the committed schema versions cannot be read; install "
            f"git, or set {SKIP_ENV}=1 to check the working copy only"
        ) from exc
    if done.returncode != 0:
        raise GitHistoryError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def committed_versions(repo: Path, avro_dir: str = AVRO_DIR) -> list[SchemaVersion]:
    """Every distinct committed version of every schema under ``avro_dir``, oldest first."""
    try:
        inside = _git(repo, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except GitHistoryError:
        inside = False
    if not inside:
        raise GitHistoryError(
            f"{repo} is not a git checkout, so the committed schema versions cannot be read; "
            f"run the tests from a clone (git clone, not an archive), or set {SKIP_ENV}=1 to "
            "check the working copy only"
        )
    if _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise GitHistoryError(
            f"{repo} is a shallow clone, so older schema versions are missing; run "
            f"`git fetch --unshallow` (in CI: fetch-depth 0), or set {SKIP_ENV}=1 to check the "
            "working copy only"
        )
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    except GitHistoryError:
        return []  # no commit yet: nothing was ever committed
    commits = _git(repo, "rev-list", "--reverse", "HEAD", "--", avro_dir).split()
    trees: list[tuple[str, dict[str, str]]] = []  # commit -> {file name: blob id}
    for commit in commits:
        blobs = {}
        for line in _git(repo, "ls-tree", f"{commit}:{avro_dir}").splitlines():
            meta, _, file_name = line.partition("\t")
            if file_name.endswith(".avsc") and meta.split()[1] == "blob":
                blobs[file_name] = meta.split()[2]
        trees.append((commit, blobs))
    texts = _read_blobs(repo, {blob for _, blobs in trees for blob in blobs.values()})
    versions: list[SchemaVersion] = []
    seen_trees: set[frozenset[str]] = set()
    seen: set[tuple[str, str]] = set()
    for commit, blobs in trees:
        if frozenset(blobs.values()) in seen_trees:
            continue
        seen_trees.add(frozenset(blobs.values()))
        documents: dict[str, AvroSchema] = {}
        for blob in blobs.values():
            document = json.loads(texts[blob])
            namespace, name = document.get("namespace", ""), document["name"]
            documents[name if "." in name or not namespace else f"{namespace}.{name}"] = document
        for name, schema in self_contained(documents).items():
            key = (name, json.dumps(schema, sort_keys=True))
            if key not in seen:
                seen.add(key)
                versions.append(SchemaVersion(name, commit[:12], schema))
    return versions


def _read_blobs(repo: Path, blobs: set[str]) -> dict[str, str]:
    """The contents of ``blobs``, read by one ``git cat-file --batch``."""
    if not blobs:
        return {}
    order = sorted(blobs)
    done = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="".join(f"{blob}\n" for blob in order).encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise GitHistoryError(f"git cat-file --batch failed in {repo}: {done.stderr.decode()}")
    out, position, texts = done.stdout, 0, {}
    for blob in order:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        texts[blob] = out[header_end + 1 : header_end + 1 + size].decode("utf-8")
        position = header_end + 1 + size + 1
    return texts


# --- Static check of the Avro resolution rules ------------------------------------------

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class _Named:
    """Named types met while walking a self-contained schema."""

    def __init__(self) -> None:
        self.types: dict[str, Mapping[str, Any]] = {}

    def resolve(self, node: Any, namespace: str) -> tuple[Any, str]:
        if isinstance(node, str) and node not in _PRIMITIVES:
            full = node if "." in node or not namespace else f"{namespace}.{node}"
            return self.types[full], full.rpartition(".")[0]
        if isinstance(node, Mapping) and node.get("type") in ("record", "error", "enum", "fixed"):
            name = node["name"]
            ns = node.get("namespace", namespace)
            full = name if "." in name or not ns else f"{ns}.{name}"
            self.types[full] = node
            return node, full.rpartition(".")[0]
        if isinstance(node, Mapping) and node.get("type") not in _PRIMITIVES | {
            "array",
            "map",
            "record",
            "error",
            "enum",
            "fixed",
        }:
            return self.resolve(node["type"], namespace)
        return node, namespace


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "union"
    if isinstance(node, str):
        return node
    return str(node["type"])


def _logical(node: Any) -> tuple[Any, ...]:
    if isinstance(node, Mapping) and "logicalType" in node:
        return (node["logicalType"], node.get("precision"), node.get("scale"))
    return ()


def resolution_problems(writer: Any, reader: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty: it can)."""
    problems: list[str] = []
    _resolve(writer, "", reader, "", _Named(), _Named(), "", problems, set())
    return problems


def _resolve(
    writer: Any,
    writer_ns: str,
    reader: Any,
    reader_ns: str,
    wnamed: _Named,
    rnamed: _Named,
    path: str,
    problems: list[str],
    visiting: set[tuple[str, str]],
) -> None:
    writer, writer_ns = wnamed.resolve(writer, writer_ns)
    reader, reader_ns = rnamed.resolve(reader, reader_ns)
    where = path or "<root>"
    if isinstance(writer, list):
        for branch in writer:
            _resolve(branch, writer_ns, reader, reader_ns, wnamed, rnamed, path, problems, visiting)
        return
    if isinstance(reader, list):
        for branch in reader:
            attempt: list[str] = []
            _resolve(
                writer, writer_ns, branch, reader_ns, wnamed, _copy(rnamed), path, attempt, visiting
            )
            if not attempt:
                _resolve(
                    writer, writer_ns, branch, reader_ns, wnamed, rnamed, path, problems, visiting
                )
                return
        problems.append(f"{where}: writer type {_kind(writer)} matches no branch of the reader")
        return
    wkind, rkind = _kind(writer), _kind(reader)
    if _logical(writer) != _logical(reader):
        problems.append(
            f"{where}: logical type changed from {_logical(writer) or 'none'} to "
            f"{_logical(reader) or 'none'} (the bytes would be misread)"
        )
        return
    if wkind in _PRIMITIVES or rkind in _PRIMITIVES:
        if rkind not in _PROMOTIONS.get(wkind, {wkind}):
            problems.append(f"{where}: type changed from {wkind} to {rkind}")
        return
    if wkind != rkind:
        problems.append(f"{where}: type changed from {wkind} to {rkind}")
        return
    if wkind in ("record", "error", "enum", "fixed"):
        wname = str(writer["name"]).rpartition(".")[2]
        rname = str(reader["name"]).rpartition(".")[2]
        aliases = {str(a).rpartition(".")[2] for a in reader.get("aliases", [])}
        if wname != rname and wname not in aliases:
            problems.append(f"{where}: named type {wname} became {rname} without an alias")
            return
    if wkind in ("record", "error"):
        key = (str(writer["name"]), str(reader["name"]))
        if key in visiting:
            return
        visiting = visiting | {key}
        written = {field["name"]: field for field in writer["fields"]}
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", [])]
            source = next((written[n] for n in names if n in written), None)
            child = f"{path}.{field['name']}" if path else field["name"]
            if source is None:
                if "default" not in field:
                    problems.append(f"{child}: field added without a default")
                continue
            _resolve(
                source["type"],
                writer_ns,
                field["type"],
                reader_ns,
                wnamed,
                rnamed,
                child,
                problems,
                visiting,
            )
    elif wkind == "enum":
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            problems.append(
                f"{where}: enum symbols {missing} removed and the reader enum has no default"
            )
    elif wkind == "fixed":
        if writer["size"] != reader["size"]:
            problems.append(
                f"{where}: fixed size changed from {writer['size']} to {reader['size']}"
            )
    elif wkind == "array":
        _resolve(
            writer["items"],
            writer_ns,
            reader["items"],
            reader_ns,
            wnamed,
            rnamed,
            f"{where}[]",
            problems,
            visiting,
        )
    elif wkind == "map":
        _resolve(
            writer["values"],
            writer_ns,
            reader["values"],
            reader_ns,
            wnamed,
            rnamed,
            f"{where}{{}}",
            problems,
            visiting,
        )


def _copy(named: _Named) -> _Named:
    clone = _Named()
    clone.types = dict(named.types)
    return clone


# --- Random records from a schema ---------------------------------------------------------

_WIDE = Context(prec=100)


def random_datum(schema: Any, rng: random.Random, named: dict[str, Any] | None = None) -> Any:
    """A random valid value for ``schema``, biased towards edge values."""
    if named is None:
        named = {}
        _collect_named(schema, "", named)
    if isinstance(schema, list):
        return random_datum(rng.choice(schema), rng, named)
    if isinstance(schema, str):
        if schema in named:
            return random_datum(named[schema], rng, named)
        return _random_primitive(schema, None, rng)
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        name, namespace = schema["name"], schema.get("namespace", "")
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        named[full] = schema
        named[name.rpartition(".")[2]] = schema
    if kind in ("record", "error"):
        return {f["name"]: random_datum(f["type"], rng, named) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "fixed":
        return rng.randbytes(int(schema["size"]))
    if kind == "array":
        return [random_datum(schema["items"], rng, named) for _ in range(rng.randint(0, 4))]
    if kind == "map":
        return {
            _random_text(rng): random_datum(schema["values"], rng, named)
            for _ in range(rng.randint(0, 3))
        }
    if kind in _PRIMITIVES:
        return _random_primitive(kind, schema, rng)
    return random_datum(kind, rng, named)


def _collect_named(node: Any, namespace: str, named: dict[str, Any]) -> None:
    """Every named type defined in ``node``, by full and short name (arrays may be empty,
    so definitions must be known before generating)."""
    if isinstance(node, list):
        for branch in node:
            _collect_named(branch, namespace, named)
        return
    if not isinstance(node, Mapping):
        return
    kind = node["type"]
    if kind in ("record", "error", "enum", "fixed"):
        name, ns = node["name"], node.get("namespace", namespace)
        full = name if "." in name or not ns else f"{ns}.{name}"
        named[full] = node
        named[full.rpartition(".")[2]] = node
        namespace = full.rpartition(".")[0]
    for field in node.get("fields", []):
        _collect_named(field["type"], namespace, named)
    for key in ("items", "values"):
        if key in node:
            _collect_named(node[key], namespace, named)
    if isinstance(kind, dict | list):
        _collect_named(kind, namespace, named)


def _random_primitive(kind: str, schema: Mapping[str, Any] | None, rng: random.Random) -> Any:
    if schema is not None and schema.get("logicalType") == "decimal":
        precision, scale = int(schema["precision"]), int(schema.get("scale", 0))
        digits = rng.choice([1, 2, 8, precision - 1, precision])
        unscaled = rng.randint(0, 10**digits - 1) * rng.choice([1, -1])
        return Decimal(unscaled).scaleb(-scale, _WIDE)
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("int", "long"):
        bits = 31 if kind == "int" else 63
        return rng.choice([0, -1, 2**bits - 1, -(2**bits), rng.randint(-(2**bits), 2**bits - 1)])
    if kind in ("float", "double"):
        return rng.uniform(-1e6, 1e6)
    if kind == "string":
        return _random_text(rng)
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 40))
    raise AssertionError(f"unknown primitive {kind}")


def _random_text(rng: random.Random) -> str:
    alphabet = "abcXYZ019 :/-_.éü€中\U0001f680"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


# --- The check ----------------------------------------------------------------------------


def _fastavro_form(schema: AvroSchema) -> Any:
    return parse_schema(for_fastavro(json.loads(json.dumps(schema)), decimals=True))


def compatibility_problems(
    old: AvroSchema, current: AvroSchema, records: int = RECORDS_PER_VERSION, seed: int = 0
) -> list[str]:
    """Why ``current`` cannot read data written with ``old`` (empty list: it can)."""
    problems = resolution_problems(old, current)
    if problems:
        return problems
    rng = random.Random(f"{canonical_form(old)}|{seed}")
    old_parsed, current_parsed = _fastavro_form(old), _fastavro_form(current)
    registry = LocalSchemaRegistry()
    name = str(current["name"])
    if "." not in name and current.get("namespace"):
        name = f"{current['namespace']}.{name}"
    writer = AvroSerde(name, old, registry.register("", old), registry.get_schema)
    reader = AvroSerde(name, current, registry.register("", current), registry.get_schema)
    unchanged = _unchanged_fields(old, current)
    for _ in range(records):
        datum = random_datum(old, rng)
        buffer = io.BytesIO()
        schemaless_writer(buffer, old_parsed, datum)
        buffer.seek(0)
        try:  # fastavro's own schema resolution
            schemaless_reader(buffer, old_parsed, current_parsed)
        except Exception as exc:
            return [f"fastavro cannot resolve {datum!r}: {type(exc).__name__}: {exc}"]
        try:  # the codec's decode path (what consumers run)
            decoded = reader.decode(writer.encode(datum))
        except Exception as exc:
            return [f"codec cannot read {datum!r} written by the old version: {exc}"]
        for key in unchanged:
            if _comparable(datum[key]) and decoded[key] != datum[key]:
                return [f"field {key!r}: wrote {datum[key]!r}, read {decoded[key]!r}"]
    return []


def _unchanged_fields(old: AvroSchema, current: AvroSchema) -> list[str]:
    """Top-level fields whose type is written identically in both versions."""
    if not (_record_type(old) and _record_type(current)):
        return []
    before = {f["name"]: json.dumps(f["type"], sort_keys=True) for f in old["fields"]}
    return [
        f["name"]
        for f in current["fields"]
        if before.get(f["name"]) == json.dumps(f["type"], sort_keys=True)
    ]


def _record_type(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "record"


def _comparable(value: Any) -> bool:
    return isinstance(value, str | int | bytes | Decimal | bool) or value is None


# --- The tests over the real history ------------------------------------------------------


def _history() -> tuple[list[SchemaVersion], str | None]:
    try:
        return committed_versions(REPO), None
    except GitHistoryError as exc:
        return [], str(exc)


HISTORY, HISTORY_ERROR = _history()
CURRENT = load_schemas()
CASES = [SchemaVersion(name, "working-copy", schema) for name, schema in CURRENT.items()] + (
    [] if HISTORY_ERROR else HISTORY
)


def test_git_history_is_available() -> None:
    """The history was read, and HEAD's version of every schema is among those checked."""
    if HISTORY_ERROR is not None:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"{SKIP_ENV}=1: working copy only ({HISTORY_ERROR})")
        pytest.fail(HISTORY_ERROR)
    commits = {commit[:12] for commit in _git(REPO, "rev-list", "HEAD", "--", AVRO_DIR).split()}
    assert {version.commit for version in HISTORY} <= commits
    checked = {(version.name, json.dumps(version.schema, sort_keys=True)) for version in HISTORY}
    head: dict[str, AvroSchema] = {}
    if commits:
        for file_name in _git(REPO, "ls-tree", "--name-only", f"HEAD:{AVRO_DIR}").split():
            if file_name.endswith(".avsc"):
                head[Path(file_name).stem] = json.loads(
                    _git(REPO, "show", f"HEAD:{AVRO_DIR}/{file_name}")
                )
    for name, schema in self_contained(head).items():
        assert (name, json.dumps(schema, sort_keys=True)) in checked, name


@pytest.mark.parametrize("version", CASES, ids=lambda v: f"{v.name.rpartition('.')[2]}@{v.commit}")
def test_current_schema_reads_committed_version(version: SchemaVersion) -> None:
    assert version.name in CURRENT, (
        f"{version.name} existed at commit {version.commit} but is gone from {AVRO_DIR}: "
        "removing a schema breaks its consumers; keep it (or retire its topic first)"
    )
    problems = compatibility_problems(version.schema, CURRENT[version.name])
    assert not problems, (
        f"{version.name} in the working copy cannot read data written by its version at "
        f"{version.commit}:\n  " + "\n  ".join(problems) + "\nMake the change backward "
        "compatible: give new fields a default, only add enum symbols (or keep a default "
        "symbol), never change a field's type or a decimal's precision/scale."
    )


# --- Proof that the check catches incompatible changes -----------------------------------

V1: AvroSchema = {
    "type": "record",
    "name": "Sample",
    "namespace": "io.tapewire.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "count", "type": "int"},
        {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 18},
        },
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
    ],
}


def _edit(schema: AvroSchema, **changes: Any) -> AvroSchema:
    """A copy of ``schema`` with fields replaced (by name), added, or removed (value None)."""
    result: AvroSchema = json.loads(json.dumps(schema))
    fields = {f["name"]: f for f in result["fields"]}
    for name, field in changes.items():
        if field is None:
            fields.pop(name)
        else:
            fields[name] = {"name": name, **field}
    result["fields"] = list(fields.values())
    return result


DECIMAL_8 = {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 8}
INCOMPATIBLE = {
    "field added without default": _edit(V1, venue={"type": "string"}),
    "type changed": _edit(V1, count={"type": "string"}),
    "enum symbol removed": _edit(
        V1, side={"type": {"type": "enum", "name": "Side", "symbols": ["BUY"]}}
    ),
    "decimal scale changed": _edit(V1, price={"type": DECIMAL_8}),
    "timestamp unit changed": _edit(
        V1, ts={"type": {"type": "long", "logicalType": "timestamp-micros"}}
    ),
    "record renamed": {**V1, "name": "Other"},
}
COMPATIBLE = {
    "field added with default": _edit(V1, venue={"type": "string", "default": ""}),
    "nullable field added": _edit(V1, note={"type": ["null", "string"], "default": None}),
    "field removed": _edit(V1, count=None),
    "int promoted to long": _edit(V1, count={"type": "long"}),
    "enum symbol added": _edit(
        V1, side={"type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL", "X"]}}
    ),
    "enum symbol removed, reader default": _edit(
        V1,
        side={"type": {"type": "enum", "name": "Side", "symbols": ["BUY", "X"], "default": "X"}},
    ),
    "docs only": {**V1, "doc": "now documented"},
}


@pytest.mark.parametrize("change", sorted(INCOMPATIBLE))
def test_check_fails_on_an_incompatible_change(change: str) -> None:
    problems = compatibility_problems(V1, INCOMPATIBLE[change], records=20)
    assert problems, change


def test_data_check_alone_catches_a_field_added_without_default() -> None:
    """The random-record check (fastavro resolution + codec) fails on its own, too."""
    current = INCOMPATIBLE["field added without default"]
    old_parsed, current_parsed = _fastavro_form(V1), _fastavro_form(current)
    buffer = io.BytesIO()
    schemaless_writer(buffer, old_parsed, random_datum(V1, random.Random(1)))
    buffer.seek(0)
    with pytest.raises(Exception, match="venue"):
        schemaless_reader(buffer, old_parsed, current_parsed)


@pytest.mark.parametrize("change", sorted(COMPATIBLE))
def test_check_passes_a_compatible_change(change: str) -> None:
    assert compatibility_problems(V1, COMPATIBLE[change], records=20) == []


def test_enum_symbol_removed_with_reader_default_reads_as_default() -> None:
    current = COMPATIBLE["enum symbol removed, reader default"]
    registry = LocalSchemaRegistry()
    writer = AvroSerde(
        "io.tapewire.test.Sample", V1, registry.register("", V1), registry.get_schema
    )
    reader = AvroSerde(
        "io.tapewire.test.Sample", current, registry.register("", current), registry.get_schema
    )
    datum = random_datum(V1, random.Random(3))
    datum["side"] = "SELL"
    assert reader.decode(writer.encode(datum))["side"] == "X"


# --- Proof that the git history is read, and its failure modes ----------------------------


def _init_repo(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.email", "test@example.invalid")
    _git(path, "config", "user.name", "test")


def _commit_schema(repo: Path, schema: AvroSchema, message: str) -> None:
    directory = repo / AVRO_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{schema['namespace']}.{schema['name']}"
    (directory / f"{name}.avsc").write_text(json.dumps(schema, indent=2))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_history_of_a_real_repository_is_checked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _init_repo(repo)
    _commit_schema(repo, V1, "v1")
    v2 = COMPATIBLE["field added with default"]
    _commit_schema(repo, v2, "v2: add venue with default")
    (repo / "README").write_text("unrelated")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "unrelated")

    versions = committed_versions(repo)
    assert [len(v.schema["fields"]) for v in versions] == [5, 6]
    # The working copy (v2 plus a field without default) must read v1 and v2: it cannot.
    working = _edit(v2, strategy={"type": "string"})
    failures = {v.commit: compatibility_problems(v.schema, working, records=10) for v in versions}
    assert all(failures.values()), failures
    assert all("strategy" in problems[0] for problems in failures.values())
    # A compatible working copy passes against the whole history.
    fine = _edit(v2, strategy={"type": ["null", "string"], "default": None})
    assert all(not compatibility_problems(v.schema, fine, records=10) for v in versions)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_not_a_checkout_or_shallow_clone_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(GitHistoryError, match=rf"not a git checkout.*{SKIP_ENV}=1"):
        committed_versions(tmp_path)

    origin = tmp_path / "origin"
    _init_repo(origin)
    _commit_schema(origin, V1, "v1")
    _commit_schema(origin, COMPATIBLE["field added with default"], "v2")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(shallow)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(GitHistoryError, match=r"shallow clone.*--unshallow"):
        committed_versions(shallow)

    empty = tmp_path / "empty"
    _init_repo(empty)
    assert committed_versions(empty) == []
