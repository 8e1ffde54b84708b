"""Is a Docker engine answering? Decides whether testcontainers can be used."""

from __future__ import annotations

import functools
import shutil
import subprocess


@functools.cache
def docker_engine_available(timeout_s: float = 5.0) -> bool:
    """True when ``docker info`` reaches a running engine within ``timeout_s``.

    The docker client alone is not enough (CI machines have the client and no engine).
    """
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())
