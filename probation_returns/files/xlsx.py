"""Workbooks whose bytes depend only on their content and a given time.

openpyxl stamps the zip entries and the document properties with the time of writing; here both
carry a time the caller chooses (the build time of a return, a fixed time for generated files), so
writing the same content again gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile


def reproducible(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite an .xlsx (zip) with every entry and the document's created/modified times set to ``when``."""
    out = io.BytesIO()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()
