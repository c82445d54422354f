"""Store the record of every customer that has none (rows loaded in bulk, bypassing the
service): ``python -m customer.tools.backfill_records [--url URL]``. Safe beside the
running service: it commits per batch."""
from customer.adapters import records


def main(argv=None):
    """``python -m customer.tools.backfill_records``: fill missing records in the customer database."""
    import argparse

    from guanxi_common.config import database_url
    from guanxi_common.engine import make_engine
    from guanxi_common.unit_of_work import make_session_factory

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--url", default=None, help="database URL (default: CUSTOMER_DATABASE_URL)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url or database_url("customer"))
    with make_session_factory(engine)() as session:
        print(f"stored {records.backfill(session)} records")
    engine.dispose()


if __name__ == "__main__":
    main()
