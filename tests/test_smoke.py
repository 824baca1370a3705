def test_course_upgrades_on_both_backends(cli, course_workspace, database_url):
    result = cli("-w", str(course_workspace), "-d", database_url, "--json", "upgrade", "head")
    assert result.exit_code == 0, result.output
    assert result.json()["current"] == ["l5_votes"]
