# SPDX-License-Identifier: Apache-2.0
"""python3 -m apical_plots guerguiev2017 FOLDER: draws every figure whose CSV files are in FOLDER."""
import sys

from . import guerguiev2017


def main(argv):
    if len(argv) != 3 or argv[1] != "guerguiev2017":
        print("usage: python3 -m apical_plots guerguiev2017 FOLDER", file=sys.stderr)
        return 2
    written = guerguiev2017.plot_all(argv[2])
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
