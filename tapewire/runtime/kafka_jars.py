"""The Apache Kafka broker jars, fetched from Maven Central with Maven into a cache.

The jars of one version live in ``<cache_dir>/kafka/<version>/libs``. Maven copies them into
a temporary directory next to it, which is renamed into place only once complete (with a
marker file inside), so an interrupted fetch never counts as a cache hit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import tapewire
from tapewire.core.errors import DependencyError, KafkaRuntimeError

POM_RELATIVE_PATH = Path("infra") / "kafka" / "pom.xml"
MARKER_NAME = ".tapewire-complete"
MIN_JAVA_MAJOR = 11

JAVA_HINT = (
    "install a JDK 17+ (apt-get install openjdk-17-jre-headless) "
    "or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
)
MAVEN_HINT = (
    "install Maven 3.6+ (apt-get install maven) "
    "or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster"
)

# Jars without which ``kafka.Kafka`` cannot start; a copy missing any of them is rejected
# (Maven in offline mode, for one, silently copies only the direct dependencies).
_REQUIRED_JARS = (
    "kafka_2.13-{v}.jar",
    "kafka-clients-{v}.jar",
    "kafka-server-{v}.jar",
    "kafka-raft-{v}.jar",
    "kafka-metadata-{v}.jar",
    "kafka-storage-{v}.jar",
)
_REQUIRED_PREFIXES = ("scala-library-", "slf4j-api-", "slf4j-reload4j-")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

Progress = Callable[[str], None]


def find_java() -> Path:
    """The ``java`` executable on PATH, or :class:`DependencyError` saying what to install."""
    found = shutil.which("java")
    if found is None:
        raise DependencyError("java not found on PATH", tool="java", hint=JAVA_HINT)
    return Path(found)


def find_maven() -> Path:
    """The ``mvn`` executable on PATH, or :class:`DependencyError` saying what to install."""
    found = shutil.which("mvn")
    if found is None:
        raise DependencyError("mvn not found on PATH", tool="mvn", hint=MAVEN_HINT)
    return Path(found)


def check_java(timeout_s: float = 30.0) -> str:
    """Return the Java version (``"17.0.15"``); raise :class:`DependencyError` if unusable."""
    java = find_java()
    try:
        done = subprocess.run(
            [str(java), "-version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(
            f"{java} -version failed: {exc}", tool="java", hint=JAVA_HINT
        ) from None
    output = (done.stderr or done.stdout).strip()
    match = re.search(r'version "([^"]+)"', output)
    if done.returncode != 0 or match is None:
        first = output.splitlines()[0] if output else f"exit status {done.returncode}"
        raise DependencyError(f"{java} -version failed: {first}", tool="java", hint=JAVA_HINT)
    version = match.group(1)
    if _java_major(version) < MIN_JAVA_MAJOR:
        raise DependencyError(
            f"java {version} is too old for Kafka 3.9 (needs {MIN_JAVA_MAJOR}+)",
            tool="java",
            hint=JAVA_HINT,
        )
    return version


def check_maven(timeout_s: float = 60.0) -> str:
    """Return the Maven version (``"3.8.7"``); raise :class:`DependencyError` if unusable."""
    mvn = find_maven()
    try:
        done = subprocess.run(
            [str(mvn), "-B", "-v"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"{mvn} -v failed: {exc}", tool="mvn", hint=MAVEN_HINT) from None
    output = _ANSI.sub("", done.stdout + done.stderr).strip()
    match = re.search(r"Apache Maven (\S+)", output)
    if done.returncode != 0 or match is None:
        last = output.splitlines()[-1] if output else f"exit status {done.returncode}"
        raise DependencyError(f"{mvn} -v failed: {last}", tool="mvn", hint=MAVEN_HINT)
    return match.group(1)


def _java_major(version: str) -> int:
    parts = version.split(".")
    try:
        return int(parts[1]) if parts[0] == "1" else int(parts[0].split("-")[0])
    except (IndexError, ValueError):
        return 0


def find_kafka_pom(explicit: Path | None = None) -> Path:
    """Locate ``infra/kafka/pom.xml``.

    Order: ``explicit``; the repository holding the ``tapewire`` package (a source checkout
    or an editable install); the current directory and its parents.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise KafkaRuntimeError(
                f"Kafka pom {str(explicit)!r} does not exist",
                hint="pass the path of Tapewire's infra/kafka/pom.xml",
            )
        return explicit.resolve()
    package_root = Path(tapewire.__file__).resolve().parent.parent
    cwd = Path.cwd().resolve()
    for base in (package_root, cwd, *cwd.parents):
        candidate = base / POM_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise KafkaRuntimeError(
        f"cannot find {POM_RELATIVE_PATH} next to the tapewire package or above {cwd}",
        hint="run from a Tapewire checkout, or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster",
    )


def kafka_libs_dir(version: str, cache_dir: Path) -> Path:
    """Where the jars of ``version`` live (whether or not they are there yet)."""
    return cache_dir / "kafka" / version / "libs"


def kafka_jars_ready(version: str, cache_dir: Path) -> bool:
    """True when a complete copy of the jars of ``version`` is in the cache."""
    return (kafka_libs_dir(version, cache_dir) / MARKER_NAME).is_file()


def ensure_kafka_jars(
    version: str,
    cache_dir: Path,
    *,
    pom: Path | None = None,
    on_progress: Progress | None = None,
    timeout_s: float = 600.0,
) -> Path:
    """Return the directory holding the jars of Kafka ``version``, fetching them if needed.

    Needs ``mvn`` (and ``java``) only on a cache miss. Safe to call from several processes
    at once: they serialise on a lock file and the second finds the first one's copy.
    """
    libs = kafka_libs_dir(version, cache_dir)
    if kafka_jars_ready(version, cache_dir):
        return libs
    find_java()
    mvn = find_maven()
    pom_path = find_kafka_pom(pom)
    libs.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(libs.parent / ".fetch.lock", timeout_s + 60.0):
        if kafka_jars_ready(version, cache_dir):
            return libs
        if on_progress is not None:
            on_progress(f"fetching Kafka {version} jars with Maven into {libs}")
        staging = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=libs.parent))
        try:
            _run_maven(mvn, pom_path, version, staging, timeout_s)
            jars = _validate_jars(staging, version)
            (staging / MARKER_NAME).write_text(
                json.dumps({"version": version, "jars": jars, "fetched_at": time.time()}),
                encoding="utf-8",
            )
            if libs.exists():  # an incomplete copy from an older, non-atomic layout
                shutil.rmtree(libs)
            staging.chmod(0o755)  # mkdtemp makes it private; the jars are not secret
            staging.rename(libs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if on_progress is not None:
        on_progress(f"Kafka {version} jars ready in {libs}")
    return libs


def _run_maven(mvn: Path, pom: Path, version: str, out_dir: Path, timeout_s: float) -> None:
    cmd = [
        str(mvn),
        "-B",
        "-q",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={out_dir}",
        f"-Dkafka.version={version}",
        "-DincludeScope=runtime",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise KafkaRuntimeError(
            f"Maven did not finish fetching Kafka {version} within {timeout_s:.0f}s",
            hint="check access to Maven Central (https://repo.maven.apache.org) or a mirror "
            "in ~/.m2/settings.xml",
        ) from None
    if done.returncode != 0:
        output = _ANSI.sub("", done.stdout + done.stderr).strip().splitlines()
        tail = "\n".join(output[-15:])
        raise KafkaRuntimeError(
            f"Maven could not fetch Kafka {version} (exit status {done.returncode}):\n{tail}",
            hint="check access to Maven Central (https://repo.maven.apache.org) or a mirror "
            "in ~/.m2/settings.xml",
        )


def _validate_jars(directory: Path, version: str) -> list[str]:
    names = sorted(p.name for p in directory.glob("*.jar"))
    missing = [j.format(v=version) for j in _REQUIRED_JARS if j.format(v=version) not in names]
    missing += [f"{p}*.jar" for p in _REQUIRED_PREFIXES if not any(n.startswith(p) for n in names)]
    if missing:
        raise KafkaRuntimeError(
            f"Maven copied an incomplete set of Kafka {version} jars; missing: "
            + ", ".join(missing),
            hint="run without Maven offline mode (-o) so transitive dependencies resolve",
        )
    return names


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KafkaRuntimeError(
                        f"another process holds {path} for more than {timeout_s:.0f}s",
                        hint="wait for the other tapewire command to finish, then retry",
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
