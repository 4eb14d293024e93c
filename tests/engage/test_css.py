"""The admins' custom CSS: plain style rules pass, anything that could load or run is refused."""
import pytest

from engage.css import CssError, check_css


def test_plain_rules_pass():
    css = ".hd { background: #2f6f4e; border-radius: 0 } .row.bot .msg { font-family: Georgia, serif; color: rgb(10 20 30 / .8) }"
    assert check_css(css) == css
    assert check_css(None) == ""
    assert check_css("/* nothing */") == "/* nothing */"


@pytest.mark.parametrize("css, says", [
    ("@import 'https://evil.test/x.css';", "@import"),
    ("@font-face { font-family: x; src: url(https://evil.test/f.woff) }", "@font-face"),
    ("@media (min-width: 1px) { .a { color: red } }", "@media"),
    (".a { background: url(https://evil.test/track.gif) }", "url()"),
    (".a { background: url('https://evil.test/track.gif') }", "url()"),
    (".a { background-image: image-set('x.png' 1x) }", "image-set()"),
    (".a { width: expression(alert(1)) }", "expression()"),
    (".a { behavior: something }", "behavior"),
    (".a { -moz-binding: none }", "-moz-binding"),
    (".a { background: \\75 rl(x) }", "backslash"),
    (".a { color: red } </style><script>alert(1)</script>", "'<'"),
    (".a { .b { color: red } }", "only declarations"),
    (".a { color: red; } }", "line 1"),
    (3, "text"),
    ("a{}" * 10_000, "longer"),
])
def test_anything_that_could_load_or_run_is_refused(css, says):
    with pytest.raises(CssError) as err:
        check_css(css)
    assert says in str(err.value)
