"""CSV for spreadsheets: the portal's one writer (portal/csvexport.py), named here for the
compliance exports."""

from __future__ import annotations

from portal.csvexport import BOM, csv_cell, csv_lines, csv_response

__all__ = ["BOM", "csv_cell", "csv_lines", "csv_response"]
