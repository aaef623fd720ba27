from tracker.cli import console

console()
