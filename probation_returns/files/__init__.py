"""Low-level file helpers below the domain: formula-safe CSV and reproducible workbooks."""
