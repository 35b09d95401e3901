def total(rows: list) -> float:
    return float(sum(sum(row) for row in rows))
