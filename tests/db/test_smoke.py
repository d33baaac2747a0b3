def test_anon_cannot_bypass(pg, as_anon):
    with as_anon() as conn:
        assert conn.execute("select current_user").fetchone()[0] == "anon"
