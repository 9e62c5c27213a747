"""One summary line per reliability/security scenario: what ran, under what load, which faults were
injected, the result, and how many messages were lost. pytest prints them as a table at the end."""

LINES: list[dict] = []


def summary(scenario: str, *, load: str = "", faults: str = "none", result: str, lost: int = 0):
    line = {"scenario": scenario, "load": load, "faults": faults, "result": result, "lost": lost}
    LINES.append(line)
    print(f"SUMMARY {scenario} | {load} | faults: {faults} | {result} | lost: {lost}")
    return line
