"""Input into the SP4N-LAPOR core and its updates back: the `CoreClient` contract and backends."""
