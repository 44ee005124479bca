"""Small client folders for the report batch tests, and one shared batch run.

``acme`` — worked numbers, period 2025-03 (as of 2025-03-31), previous 2025-02:

====================  ==========  ====  =====  =========  ======================
pedimento             date        type  qty    value MXN  as of 2025-03-31
====================  ==========  ====  =====  =========  ======================
23 47 3420 3000001    2023-06-15  MP    100    20,000     deadline 2024-12-15: expired
24 47 3420 4000001    2024-11-20  MP    1,000  10,000     exports 100 (Feb) + 400 (Mar)
                                                          → open 500 → MXN 5,000
24 47 3420 4000002    2023-11-10  EE    500    2,000      deadline 2025-05-10: 40 days
25 47 3420 5000001    2025-03-05  AF    1      1,000,000  no time limit
25 47 3420 5000002    2025-04-02  MP    100    1,000      after the as-of date: ignored
====================  ==========  ====  =====  =========  ======================

open value 20,000 + 5,000 + 2,000 + 1,000,000 = **1,027,000** (4 lines);
expired 20,000 (1 line); due within 90 days 2,000 (1 line).
As of 2025-02-28 (press not yet imported, only the February export):
20,000 + 9,000 + 2,000 = **31,000**.

``beta`` — a client whose name and a description carry ``<script>``; one row
of its imports has a negative quantity (1 reject).  ``broken`` — no
``exports.csv``: the loader raises, the report fails with that reason.

``gamma`` — ``name = "<script>alert(1)</script> & Co"`` and ``prosec = false``
in client.toml; nothing exported.  One good line (2025-03-05, MP, 100 units,
MXN 10,000, general rate 10 %, PROSEC 5 %, a ``<script>`` in its
description) and three rows rejected in the quantity column (rows 3, 4, 5:
-1, 0, "many").  As of 2025-03-31 the line is in time and was imported in
the as-of month (INPC factor 1).  Without PROSEC: IGI 1,000, DTA 80, VAT
0.16 × 11,080 = 1,772.80 → exposure **2,852.80**; with PROSEC it would be
500 + 80 + 0.16 × 10,580 = 2,272.80.
"""

from __future__ import annotations

from pathlib import Path

PERIOD = "2025-03"
SCRIPT_NAME = '<script>alert("pwn")</script>'

ACME_IMPORTS = """pedimento,line,clave,date,part_number,description,quantity,value_usd,value_mxn,origin,material_type,igi_rate
23 47 3420 3000001,1,IN,2023-06-15,RES-1,Resin,100,1000,20000,CHN,MP,0.10
24 47 3420 4000001,1,IN,2024-11-20,CAP-1,Capacitor,1000,500,10000,CHN,MP,0.05
24 47 3420 4000002,1,IN,2023-11-10,LBL-1,Label,500,100,2000,USA,EE,0
25 47 3420 5000001,1,AF,2025-03-05,PRESS-1,Moulding press,1,50000,1000000,DEU,AF,0
25 47 3420 5000002,1,IN,2025-04-02,CAP-1,Capacitor,100,50,1000,CHN,MP,0.05
"""
ACME_EXPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,destination
25 47 3420 5100000,1,RT,2025-02-10,CAP-1,100,80,USA
25 47 3420 5100001,1,RT,2025-03-10,CAP-1,400,300,USA
"""
BETA_IMPORTS = f"""pedimento,line,clave,date,part_number,description,quantity,value_usd,value_mxn,origin,material_type,igi_rate
24 47 3420 4100001,1,IN,2024-10-01,WIRE-1,"Wire {SCRIPT_NAME}",200,400,8000,CHN,MP,0.10
24 47 3420 4100001,2,IN,2024-10-01,WIRE-2,Wire 2,-5,10,200,CHN,MP,0.10
"""
BETA_EXPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,destination
25 47 3420 5200001,1,RT,2025-03-20,WIRE-1,50,120,CAN
"""
GAMMA_NAME = "<script>alert(1)</script> & Co"
GAMMA_IMPORTS = """pedimento,line,clave,date,part_number,description,quantity,value_usd,value_mxn,origin,material_type,igi_rate,prosec_rate
25 47 3420 6000001,1,IN,2025-03-05,GEAR-1,"Gear <script>alert(1)</script>",100,500,10000,CHN,MP,0.10,0.05
25 47 3420 6000001,2,IN,2025-03-05,GEAR-2,Gear 2,-1,10,200,CHN,MP,0.10,0.05
25 47 3420 6000001,3,IN,2025-03-05,GEAR-3,Gear 3,0,10,200,CHN,MP,0.10,0.05
25 47 3420 6000001,4,IN,2025-03-05,GEAR-4,Gear 4,many,10,200,CHN,MP,0.10,0.05
"""
GAMMA_EXPORTS = "pedimento,line,clave,date,part_number,quantity,value_usd,destination\n"


def write_gamma(folder: Path) -> Path:
    """The ``gamma`` client folder (see the module docstring)."""
    folder.mkdir(parents=True)
    (folder / "imports.csv").write_text(GAMMA_IMPORTS, encoding="utf-8")
    (folder / "exports.csv").write_text(GAMMA_EXPORTS, encoding="utf-8")
    (folder / "client.toml").write_text(
        f'name = "{GAMMA_NAME}"\nprosec = false\n', encoding="utf-8"
    )
    return folder


def write_clients(root: Path) -> Path:
    """``root/acme``, ``root/beta<script>…`` (folder ``beta``), ``root/broken``
    and ``root/gamma``."""
    acme = root / "acme"
    acme.mkdir(parents=True)
    (acme / "imports.csv").write_text(ACME_IMPORTS, encoding="utf-8")
    (acme / "exports.csv").write_text(ACME_EXPORTS, encoding="utf-8")
    (acme / "client.toml").write_text(
        'name = "ACME Manufacturas, S.A. de C.V."\n', encoding="utf-8"
    )
    beta = root / "beta"
    beta.mkdir()
    (beta / "imports.csv").write_text(BETA_IMPORTS, encoding="utf-8")
    (beta / "exports.csv").write_text(BETA_EXPORTS, encoding="utf-8")
    (beta / "client.toml").write_text(f"name = 'Beta {SCRIPT_NAME} S.A.'\n", encoding="utf-8")
    broken = root / "broken"
    broken.mkdir()
    (broken / "imports.csv").write_text(ACME_IMPORTS, encoding="utf-8")
    write_gamma(root / "gamma")
    return root


_BATCH: dict = {}


def batch_once(tmp_path_factory):
    """Run the real report template once per test process on the four clients
    (period 2025-03, 2 workers); return ``(data_root, out, BatchResult)``."""
    if "result" not in _BATCH:
        from immex_nb.report import run_batch

        base = tmp_path_factory.mktemp("report_batch")
        data = write_clients(base / "data")
        out = base / "out"
        result = run_batch(
            data, [PERIOD], out, workers=2, language="en", echo=False, progress=False
        )
        _BATCH.update(data=data, out=out, result=result)
    return _BATCH["data"], _BATCH["out"], _BATCH["result"]
