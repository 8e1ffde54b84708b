"""ClickHouse access: one client factory from a URL, versioned migrations."""
