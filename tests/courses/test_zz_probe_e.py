def test_probe(client, make_course):
    make_course()
    r = client.get("/api/v1/courses?q=Kurs%00")
    print("API NUL:", r.status_code, r.get_data(as_text=True)[:200])
