"""`make backtest` entry point. The offline replay engine is issue #6; until it lands this says so plainly
instead of pretending to run a backtest."""

import sys


def main() -> int:
    print(
        "make backtest: the offline replay engine (replay/, issue #6) is not built yet.\n"
        "When it is, this command replays the whole decision pipeline over LEAN-format data in\n"
        "../shared/lean-data and over modelled chains, and writes a report folder.\n"
        "With Docker and the lean CLI you can already run the LEAN project itself: `lean backtest .`"
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
