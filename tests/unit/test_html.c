/* HTML building: escaping is the default. */
#include <criterion/criterion.h>

#include "web/html.h"

Test(html, text_escapes_every_markup_character)
{
	struct buf b = BUF_INIT;
	html_text(&b, "<script>alert('x') & \"y\"</script>");
	cr_assert_str_eq(buf_cstr(&b),
			 "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
	buf_free(&b);
}

Test(html, attribute_values_cannot_break_out_of_quotes)
{
	struct buf b = BUF_INIT;
	html_attr(&b, "title", "\" onmouseover=\"evil()");
	cr_assert_str_eq(buf_cstr(&b), " title=\"&quot; onmouseover=&quot;evil()\"");
	buf_free(&b);
}

Test(html, local_links_refuse_other_origins)
{
	struct buf b = BUF_INIT;
	html_href_local(&b, "//evil.example/x");
	html_href_local(&b, "https://evil.example/");
	html_href_local(&b, "javascript:alert(1)");
	html_href_local(&b, "/\\evil.example");
	html_href_local(&b, "/ok?a=1&b=2");
	cr_assert_str_eq(buf_cstr(&b), " href=\"/\" href=\"/\" href=\"/\" href=\"/\""
				       " href=\"/ok?a=1&amp;b=2\"");
	buf_free(&b);
}

Test(html, formatted_text_is_escaped_after_formatting)
{
	struct buf b = BUF_INIT;
	html_textf(&b, "%s=%d", "<a>", 3);
	cr_assert_str_eq(buf_cstr(&b), "&lt;a&gt;=3");
	buf_free(&b);
}

Test(html, literal_markup_is_written_as_is)
{
	struct buf b = BUF_INIT;
	html_lit(&b, "<p class=\"x\">");
	cr_assert_str_eq(buf_cstr(&b), "<p class=\"x\">");
	buf_free(&b);
}
