"""Stream processors (Faust agents over pure domain code)."""
