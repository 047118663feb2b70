"""The ground floor: what every other app may use and that imports none of
them (tests/test_layers.py holds it to that): the error a user is told
about and the middleware that shows it, the password generator, and the
formatting of sizes and times that several apps' pages share."""
