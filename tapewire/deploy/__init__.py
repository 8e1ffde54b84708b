"""Deployment: the TOML file every role reads, the roles, and the supervisor of ``run all``.

Entry-point layer, below ``tapewire.cli`` (which runs it as ``tapewire run``): may import
every layer below it (shells, runtime, stages, cores, schemas, records, core).
"""
