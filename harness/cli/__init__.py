"""The command line: `harness plugins|tasks|models|matrix|score|retrieve|leaderboard` (:mod:`.main`), its
console helpers and the command groups it loads lazily."""
