"""``immex-nb anexo30 DATA_DIR --period YYYY-MM --out OUT``: the Anexo 30
(SCCCyG) worksheet of one month, written as ``descargos.csv``, ``saldos.csv``
and ``manifest.json`` (docs/rules/anexo30.md)."""

from __future__ import annotations

from pathlib import Path

from immex_nb.anexo30 import IDENTITY_TOLERANCE_MXN, anexo30, summary
from immex_nb.commands.options import add_cluster, add_deadline_rule, cluster
from immex_nb.dates import Period
from immex_nb.load import load
from immex_nb.outputs import check_out, manifest_json, write_tables
from immex_nb.run import ClientRun


def add_parser(sub) -> None:
    a = sub.add_parser(
        "anexo30",
        help="Anexo 30 (SCCCyG) worksheet of a month: descargos and saldos per fracción",
    )
    a.add_argument("data_dir", metavar="DATA_DIR")
    a.add_argument(
        "--period",
        required=True,
        metavar="YYYY-MM",
        help="the month; the ledger as it stood on its last day (opening: the month before)",
    )
    a.add_argument("--out", required=True, metavar="OUT_DIR")
    add_deadline_rule(a)
    add_cluster(a)


def run(args) -> int:
    p = Period.parse(args.period)  # a bad period: ImmexError → one line, exit 2
    data_dir, out = args.data_dir, Path(args.out)
    check_out(out)  # an unwritable OUT: one line, exit 2, before any work
    ledger = load(data_dir)
    with cluster(args) as client:
        closing = ClientRun(ledger, p.end, deadline_rule=args.deadline_rule, client=client)
        opening = ClientRun(
            ledger,
            p.previous.end,
            rates=closing.rates,
            deadline_rule=closing.deadline_rule,
            client=client,
        )
        descargos, saldos = anexo30(opening.discharge, closing.discharge, p)
    manifest = manifest_json(
        command="anexo30",
        inputs=ledger.sources,
        parameters={
            "data_dir": Path(data_dir).resolve(),
            "period": str(p),
            "as_of": p.end.isoformat(),
            "opening_as_of": p.previous.end.isoformat(),
            "deadline_rule": closing.deadline_rule,
            "oea": closing.oea,
            "identity_tolerance_mxn": IDENTITY_TOLERANCE_MXN,
        },
        row_counts={
            "descargos": len(descargos),
            "saldos": len(saldos),
            "rejects": len(ledger.rejects),
        },
    )
    tables = {"descargos": descargos, "saldos": saldos}
    write_tables(tables, out, extra={"manifest.json": manifest})  # one set, published at once
    s = summary(descargos, saldos)
    print(
        f"{ledger.settings.name}, Anexo 30 {p} (as of {p.end:%Y-%m-%d}): "
        f"{s['descargo_rows']} descargo row(s) from {s['exit_pedimentos']} exit pedimento(s), "
        f"{s['saldo_rows']} fracción row(s); MXN opening {s['opening_value_mxn']:,.2f} "
        f"+ credits {s['credits_value_mxn']:,.2f} − descargos {s['descargos_value_mxn']:,.2f} "
        f"= closing {s['closing_value_mxn']:,.2f} (expired {s['expired_value_mxn']:,.2f})"
    )
    if len(ledger.rejects):
        print(
            f"note: {len(ledger.rejects)} input problems were not loaded; run `immex-nb validate`"
        )
    print(f"wrote {out}/descargos.csv, saldos.csv, manifest.json")
    return 0
