# SPDX-License-Identifier: Apache-2.0
"""Plots of apical's reproduction data (CSV files written by `apical reproduce`). No simulation happens here."""

__all__ = ["guerguiev2017"]
