from migtutor.cli import app

app(prog_name="migtutor")
