from tools.answers_schema import SCHEMA_FILE, answers_schema


def test_the_published_schema_matches_the_answer_models():
    assert SCHEMA_FILE.read_text() == answers_schema(), "run `make schema` and commit schema/answers.schema.json"
