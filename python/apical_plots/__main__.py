# SPDX-License-Identifier: Apache-2.0
"""python3 -m apical_plots PAPER FOLDER: draws every figure whose CSV files are in FOLDER.

PAPER is guerguiev2017 or sacramento2018.
"""
import sys


def main(argv):
    if len(argv) != 3 or argv[1] not in ("guerguiev2017", "sacramento2018"):
        print("usage: python3 -m apical_plots guerguiev2017|sacramento2018 FOLDER", file=sys.stderr)
        return 2
    if argv[1] == "guerguiev2017":
        from . import guerguiev2017 as paper
    else:
        from . import sacramento2018 as paper
    for path in paper.plot_all(argv[2]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
