import gc, traceback
import psycopg

orig = psycopg.Connection.__del__
def spy(self, *a):
    if not self.closed:
        traceback.print_stack(limit=30)
    return orig(self, *a)
psycopg.Connection.__del__ = spy

def test_a(app, client):
    assert client.get("/api/v1/me").status_code == 401

def test_b():
    from vhs import create_app
    print("before create")
    a = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    print("after create")
