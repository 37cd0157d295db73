"""The quote forms curate.quotes.v6 must handle, one small case each, on a real spaCy parse."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract import get  # noqa: E402
from curate.extract.nlp import load_model, pipes_to_exclude  # noqa: E402
from curate.extract.quotes import REQUIRED_PIPES, _extract, extract_quotes  # noqa: E402
from curate.marks import find_quoted  # noqa: E402
from curate.model import Document, Quote  # noqa: E402


@pytest.fixture(scope="module")
def nlp():
    model, _ = load_model(None, disable=pipes_to_exclude(None, REQUIRED_PIPES))
    return model


def quotes(nlp, text: str) -> list[Quote]:
    out = extract_quotes(nlp(text))
    # Every quote must make a valid Document (offsets inside, stored texts match).
    Document("t", text, quotes=tuple(out))
    return out


def one(found: list[Quote], needle: str) -> Quote:
    hits = [q for q in found if needle in q.text]
    assert len(hits) == 1, f"expected one quote with {needle!r}, got {[q.text for q in found]}"
    return hits[0]


def text_of(part) -> str | None:
    return part.text if part is not None else None


def test_registered_and_pipes():
    ex = get("curate.quotes.v6")
    assert ex.tasks == ("quotes",) and ex.required_pipes == REQUIRED_PIPES
    assert set(REQUIRED_PIPES) <= {
        "tok2vec",
        "tagger",
        "parser",
        "attribute_ruler",
        "lemmatizer",
        "ner",
    }
    assert "parser" in REQUIRED_PIPES


@pytest.mark.parametrize(
    "text, content",
    [
        ("“We will win this vote,” Smith said.", "“We will win this vote,”"),
        ('"We will win this vote," Smith said.', '"We will win this vote,"'),
        ("‘We will win this vote,’ Smith said.", "‘We will win this vote,’"),
        ("'We will win this vote,' Smith said.", "'We will win this vote,'"),
        ("«We will win this vote», Smith said.", "«We will win this vote»"),
        ("„We will win this vote“, Smith said.", "„We will win this vote“"),
        ("''We will win this vote,'' Smith said.", "''We will win this vote,''"),
        (
            "“We will win this vote. Nobody can stop us,” Smith said.",
            "“We will win this vote. Nobody can stop us,”",
        ),
    ],
    ids=[
        "curly",
        "straight",
        "single-curly",
        "single-straight",
        "guillemets",
        "low-9",
        "two-apostrophes",
        "multi-sentence",
    ],
)
def test_direct_quote_styles(nlp, text, content):
    q = one(quotes(nlp, text), "win this vote")
    assert q.text == content  # quote marks included (PolNeAR's convention)
    assert q.kind == "direct"
    assert text_of(q.speaker) == "Smith"
    assert text_of(q.cue) == "said"
    assert text_of(q.speaker_entity) == "Smith"


def test_quote_over_paragraph_break(nlp):
    text = (
        "The senator spoke to reporters on Monday.\n\n"
        "“We will win the vote this year, whatever the polls say.\n\n"
        "“And we will keep winning after that,” Senator Jane Smith said."
    )
    q = one(quotes(nlp, text), "whatever the polls")
    assert q.text.startswith("“We will win") and q.text.endswith("after that,”")
    assert text_of(q.speaker) == "Senator Jane Smith"
    assert text_of(q.speaker_entity) == "Jane Smith"


def test_colon_cue_ending_previous_paragraph(nlp):
    text = "In a speech on Friday, Smith declared:\n\n“We are going to win this election.”"
    q = one(quotes(nlp, text), "going to win")
    assert (text_of(q.speaker), text_of(q.cue)) == ("Smith", "declared")


def test_unbalanced_quote_recovers_at_paragraph(nlp):
    text = (
        "“These deals could include raw materials, said Kirby, a White House spokesman.\n"
        "The talks will resume in March, officials said.\n"
        "“We remain concerned about the talks,” Kirby added."
    )
    found = quotes(nlp, text)
    first = one(found, "These deals")
    assert first.text == "“These deals could include raw materials,"
    assert text_of(first.speaker) == "Kirby" and text_of(first.cue) == "said"
    rest = one(found, "talks will resume")
    assert text_of(rest.speaker) == "officials"
    last = one(found, "remain concerned")
    assert last.text == "“We remain concerned about the talks,”"
    assert text_of(last.speaker) == "Kirby"


def test_unclosed_quote_closed_by_next_opening_mark():
    text = "“One two three, he said. “Four five six,” she said."
    spans = [(q.start, q.end, q.closed) for q in find_quoted(text)]
    assert spans == [(0, 15, False), (25, 41, True)]


@pytest.mark.parametrize(
    "text, needle, kind, speaker, cue",
    [
        (
            "Clinton, the nominee “is dogged and smart,” the paper wrote.",
            "dogged",
            "mixed",
            "the paper",
            "wrote",
        ),
        (
            "The official warned that Pyongyang would “pay a price” for the deal.",
            "pay a price",
            "mixed",
            "The official",
            "warned",
        ),
        (
            "Smith said that the economy is growing faster than expected.",
            "economy is growing",
            "indirect",
            "Smith",
            "said",
        ),
        (
            "Smith said the economy is growing faster than expected.",
            "economy is growing",
            "indirect",
            "Smith",
            "said",
        ),
        (
            "The minister noted that exports had fallen for a third month.",
            "exports had fallen",
            "indirect",
            "The minister",
            "noted",
        ),
        (
            "He added that the sanctions were working.",
            "sanctions were working",
            "indirect",
            "He",
            "added",
        ),
        (
            "The general warned that the army was not ready.",
            "army was not ready",
            "indirect",
            "The general",
            "warned",
        ),
        (
            "Peskov told reporters that he could not confirm any details.",
            "could not confirm",
            "indirect",
            "Peskov",
            "told",
        ),
        (
            "Negotiations are advancing quickly, according to a senior official.",
            "Negotiations are advancing",
            "indirect",
            "a senior official",
            "according to",
        ),
        (
            "The talks will continue next week, said Kirby.",
            "talks will continue",
            "indirect",
            "Kirby",
            "said",
        ),
        (
            "The talks will continue next week, a spokesman said.",
            "talks will continue",
            "indirect",
            "a spokesman",
            "said",
        ),
        (
            "Kirby spoke on Monday, saying the talks would continue in March.",
            "talks would continue",
            "indirect",
            "Kirby",
            "saying",
        ),
        (
            "Kirby spoke on Monday, noting that the talks would continue in March.",
            "talks would continue",
            "indirect",
            "Kirby",
            "noting",
        ),
    ],
    ids=[
        "mixed",
        "partial-quote",
        "said-that",
        "said-bare",
        "noted",
        "added",
        "warned",
        "told-reporters",
        "according-to",
        "post-posed-name",
        "post-posed-nominal",
        "participial-saying",
        "participial-noting",
    ],
)
def test_reported_speech(nlp, text, needle, kind, speaker, cue):
    q = one(quotes(nlp, text), needle)
    assert q.kind == kind
    assert text_of(q.speaker) == speaker
    assert text_of(q.cue) == cue
    assert not q.text.endswith(".")  # the sentence's full stop is not content


def test_continuation_in_same_paragraph_is_one_quote(nlp):
    text = "“We will win this vote,” Smith said on Monday. “Nobody can stop us now.”"
    found = quotes(nlp, text)
    assert len(found) == 1
    q = found[0]
    # PolNeAR keeps a quote split by its attribution as one (covering) span.
    assert q.text == text[: text.rindex("”") + 1]
    assert text_of(q.speaker) == "Smith" and text_of(q.cue) == "said"


def test_continuation_in_next_paragraph_joins_previous_speaker(nlp):
    text = (
        "“We will win this vote,” Smith said on Monday.\n\n"
        "“Nobody can stop us now, not this year and not in any year after it.”"
    )
    q = one(quotes(nlp, text), "Nobody can stop us")
    assert q.text.startswith("“We will win")
    assert text_of(q.speaker) == "Smith"


def test_pronoun_resolves_to_earlier_named_speaker(nlp):
    text = (
        "Kremlin spokesman Dmitry Peskov told reporters on Tuesday that he could not "
        "confirm the visit.\n“We have nothing to tell you on this topic,” he said."
    )
    q = one(quotes(nlp, text), "nothing to tell")
    assert text_of(q.speaker) == "he"
    assert text_of(q.speaker_entity) == "Dmitry Peskov"
    assert q.speaker_entity.start == text.index("Dmitry Peskov")


def test_definite_role_resolves_but_indefinite_does_not(nlp):
    text = (
        "John Kirby said the talks were advancing.\n"
        "“We have new information to share today,” the NSC spokesperson told reporters.\n"
        "The deal is close, according to a top U.S. security official."
    )
    found = quotes(nlp, text)
    q = one(found, "new information")
    assert text_of(q.speaker) == "the NSC spokesperson"
    assert text_of(q.speaker_entity) == "John Kirby"
    q = one(found, "deal is close")
    assert text_of(q.speaker) == "a top U.S. security official"
    assert q.speaker_entity is None


def test_titles_and_scare_quotes_are_not_speech(nlp):
    text = "She starred in “Mercy Street” and the so-called “deal” made headlines last week."
    assert quotes(nlp, text) == []


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n  ", "“", "”", '"', "«", "‘’", "“”“”", "“\n\n”", "He said, “", "\x00''\x00"],
)
def test_degenerate_texts(nlp, text):
    assert all(q.end > q.start for q in quotes(nlp, text))


def test_lone_straight_marks_flagging_an_excerpt_are_not_quotes():
    # Curly-quoted article; an excerpt's paragraphs each start with a lone straight mark.
    text = (
        "“We are ready,” the mayor said on Monday.\n"
        '"The crowd waited for hours in the rain before the doors opened.\n'
        '"Kevin was asleep. “Here he is,” she said. “Donald is here.”\n'
        "“It was worth it,” one voter said."
    )
    spans = [text[q.start : q.end] for q in find_quoted(text)]
    assert spans == ["“We are ready,”", "“Here he is,”", "“Donald is here.”", "“It was worth it,”"]
    # Where straight marks are the article's style, a paragraph-opening one still opens.
    # Where straight marks are the article's style, a paragraph-opening one still opens
    # a quote (here one running over two paragraphs).
    straight = '"We are ready," the mayor said.\n"The crowd waited for hours.\n"It was worth it."'
    found = [(straight[q.start : q.end], q.paragraphs) for q in find_quoted(straight)]
    assert found == [
        ('"We are ready,"', 1),
        ('"The crowd waited for hours.\n"It was worth it."', 2),
    ]


def test_mixed_quote_ends_at_its_mark_before_a_dash_aside(nlp):
    text = (
        "Clinton said the program had worked and “there is nothing wrong with that” — "
        "a claim her rivals rejected."
    )
    q = one(quotes(nlp, text), "nothing wrong")
    assert q.kind == "mixed" and q.text.endswith("“there is nothing wrong with that”")


def test_quote_closing_a_reported_clause_is_one_mixed_quote(nlp):
    text = (
        "Ryan said it is unrealistic to think that if the U.S. pulls back, "
        "“our oceans are going to save us.”"
    )
    (q,) = quotes(nlp, text)
    assert q.kind == "mixed" and text_of(q.cue) == "said" and text_of(q.speaker) == "Ryan"
    assert q.text == text[len("Ryan said ") :]
    # A quote right after its cue stays direct.
    (d,) = quotes(nlp, "Smith said on Monday: “We will win the vote.”")
    assert d.kind == "direct" and d.text == "“We will win the vote.”"


def test_quote_resumed_after_an_aside_in_its_attribution_is_one_quote(nlp):
    text = (
        "“Every time you say that,” Tester said, referring to the excuse, "
        "“you give ammunition to the people who want to break up the big banks.”"
    )
    (q,) = quotes(nlp, text)
    assert q.kind == "direct" and q.text == text
    assert text_of(q.speaker) == "Tester" and text_of(q.cue) == "said"


def test_verb_inside_a_report_is_not_a_second_quote(nlp):
    text = (
        "Clinton said she wanted to speak “directly to white people” and let them know "
        "that “this is not who we are.”"
    )
    (q,) = quotes(nlp, text)
    assert q.kind == "mixed" and text_of(q.cue) == "said" and text_of(q.speaker) == "Clinton"
    assert q.text.startswith("she wanted") and q.text.endswith("who we are.”")


def test_reported_speech_after_a_quote_leaves_its_closing_mark_out(nlp):
    # spaCy puts the closing mark of the first paragraph into the next sentence.
    text = (
        'Trump also embraced harsh interrogation techniques -- "I think waterboarding is '
        "peanuts compared to what they'd do to us.\"\n\nTrump leads the field in the Granite "
        "State with just 22%, according to a Suffolk University poll released Sunday."
    )
    r = one(quotes(nlp, text), "22%")
    assert r.kind == "indirect" and r.text.startswith("Trump leads the field")


@pytest.mark.parametrize(
    "text, content, cue",
    [
        # quoted words on the object's own preposition still hang on the speech verb
        (
            "In her speech, Clinton emphasized the need for an “unshakeable commitment” to Israel.",
            "the need for an “unshakeable commitment” to Israel",
            "emphasized",
        ),
        # verbs that report by judging: accuse, liken, ...
        (
            "Cruz accused Obama of “leading from behind” on terrorism.",
            "Obama of “leading from behind” on terrorism",
            "accused",
        ),
        (
            "At a rally, Trump likened the refugees to a “vicious snake” in a song.",
            "the refugees to a “vicious snake” in a song",
            "likened",
        ),
    ],
    ids=["prep-of-object", "accused-of", "likened-to"],
)
def test_partial_quote_reported_by_a_judging_verb(nlp, text, content, cue):
    (q,) = quotes(nlp, text)  # one quote: the bare object is not a second report
    assert q.kind == "mixed" and q.text == content and text_of(q.cue) == cue


def test_relative_word_opens_the_quote_its_verb_reports(nlp):
    text = "He is a man whom one Obama insider described as “his brother.”"
    (q,) = quotes(nlp, text)
    assert q.kind == "mixed" and q.text == "whom one Obama insider described as “his brother.”"
    assert text_of(q.cue) == "described" and text_of(q.speaker) == "one Obama insider"


def test_second_reporting_predicate_is_a_quote_of_its_own(nlp):
    text = (
        "Smith said he found Trump to be “very charming” and called his standing in the "
        "field “unheard of.”"
    )
    first, second = quotes(nlp, text)
    assert first.text == "he found Trump to be “very charming”" and text_of(first.cue) == "said"
    assert second.text.startswith("his standing") and text_of(second.cue) == "called"
    assert text_of(first.speaker) == text_of(second.speaker) == "Smith"


def test_retired_rules_name_points_to_the_current_one():
    from curate.errors import CurateError
    from curate.extract.resolve import resolve

    for old in ("curate.quotes.v1", "curate.quotes.v3", "curate.quotes.v5"):
        for call in (lambda: get(old), lambda: resolve(old)):  # noqa: B023 - called at once
            with pytest.raises(CurateError, match="retired.*curate.quotes.v6"):
                call()


@pytest.mark.parametrize(
    "text, absent",
    [
        # A negated cue reports nothing.
        ("Sullivan did not specify what consequences North Korea would face.", "what conseq"),
        # A verb that is itself part of what someone reports is no second report.
        ("Officials said Putin is seeking artillery shells from Pyongyang.", "artillery"),
        ("Kim will meet Putin to discuss an arms deal, officials said.", "an arms deal"),
        # A bare object of a verb that rarely reports; the source named by `citing`.
        ("Russia is seeking artillery shells and anti-tank missiles.", "artillery"),
        ("Citing U.S. and allied officials, the paper reported the visit.", "U.S. and allied"),
    ],
)
def test_cues_that_report_no_speech_give_no_quote(nlp, text, absent):
    # (A report around it may still hold those words: only no quote of their own.)
    assert not [q for q in quotes(nlp, text) if q.text.startswith(absent)]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("He added that the sanctions have proven successful.", "the sanctions"),
        ("The United States accused North Korea of supplying weapons.", "North Korea of"),
        ("The paper, citing the report, said the talks had stalled.", "the talks had stalled"),
        # Quoted words are speech even when the parser hangs a negation on their cue.
        ('"Absolutely not," Ms. Moore said.', '"Absolutely not,"'),
    ],
)
def test_reports_next_to_those_rules_stay(nlp, text, needle):
    one(quotes(nlp, text), needle)


def test_object_content_runs_over_the_verbs_complements(nlp):
    text = "Critics cited disparaging remarks Trump made about Machado as examples of disrespect."
    q = one(quotes(nlp, text), "disparaging remarks")
    assert q.text.endswith("examples of disrespect")


def test_every_quote_shape_has_a_certainty(nlp):
    from curate.extract.quotes import CERTAINTY, quote_shape

    text = (
        "“We will rebuild the port,” said Dmitry Peskov. He added that talks would resume, "
        "according to Interfax. Kirby said it would “pay a price” for it."
    )
    found = quotes(nlp, text)
    assert {q.kind for q in found} == {"direct", "indirect", "mixed"}
    assert all(0 < CERTAINTY[quote_shape(q)] < 1 for q in found)


@pytest.mark.parametrize("dash", [" — ", " -", "-", " - ", " -- ", "--", "—", " – ", " ― "])
def test_a_quote_signed_with_any_dash_gets_the_same_speaker(nlp, dash):
    text = (
        "Residents packed the hall on Tuesday.\n"
        f"“We will not close the library this winter.”{dash}Commissioner Daniel Okoro\n"
        "The vote is next week."
    )
    q = one(quotes(nlp, text), "We will not close")
    assert text_of(q.speaker) == "Commissioner Daniel Okoro"
    assert text_of(q.cue).strip("―—–-") == ""


def test_a_hyphen_glued_to_a_lowercase_word_is_no_signature(nlp):
    text = "The “pro-growth”-minded officials said nothing about the plan for the winter."
    assert all(q.cue is None or q.cue.text == "said" for q in quotes(nlp, text))


@pytest.mark.parametrize(
    "text",
    [
        "“It’s horrifying,” Tapper said, “and I’m sure it will have an impact.”",
        "“It’s horrifying,” Tapper said. “I’m sure it will have an impact on all of us.”",
    ],
)
def test_a_quote_interrupted_by_its_attribution_has_two_fragments(nlp, text):
    (q,) = quotes(nlp, text)
    first, second = text[: text.index("”") + 1], text[text.index("“", 1) :]
    assert [f.text for f in q.fragments] == [first, second]  # `Tapper said` is not content
    assert (q.start, q.end, q.kind) == (0, len(text), "direct")  # the covering span
    assert (q.speaker.text, q.cue.text) == ("Tapper", "said")


def test_an_aside_inside_reported_speech_is_left_out_of_its_fragments(nlp):
    text = "But to prevent problems, he said, local officials should be vigilant."
    (q,) = quotes(nlp, text)
    assert [f.text for f in q.fragments] == [
        "But to prevent problems",
        "local officials should be vigilant",
    ]
    assert (q.kind, q.speaker.text, q.cue.text) == ("indirect", "he", "said")


@pytest.mark.parametrize(
    "text, content",
    [
        # A non-restrictive relative clause or a `while` clause is the writer's aside.
        (
            "Trump defended his immigration plan, which includes building a border wall.",
            "his immigration plan",
        ),
        (
            "Kirby said the talks had stalled, which surprised many diplomats.",
            "the talks had stalled",
        ),
        (
            "She said the economy was growing, while critics pointed to rising prices.",
            "the economy was growing",
        ),
    ],
)
def test_reported_content_stops_before_a_writers_aside(nlp, text, content):
    # The rule itself, with the learned filter off (it may judge the short object).
    assert content in [q.text for q, _ in _extract(nlp(text), learned_filter=False)]


def test_an_object_cues_question_clause_is_part_of_what_it_reports(nlp):
    text = "Reporters asked the students if they were always so serious."
    found = [q.text for q, _ in _extract(nlp(text), learned_filter=False)]
    assert "the students if they were always so serious" in found


@pytest.mark.parametrize(
    "text",
    [
        "Graham endorsed Senator Ted Cruz last week.",
        "The governor endorsed Senator Ted Cruz during a conference call with reporters.",
        "The governor endorsed Senator Ted Cruz in a fundraising email.",
        "The governor endorsed Senator Ted Cruz on Tuesday.",
    ],
)
def test_when_and_where_it_was_said_is_not_what_an_object_cue_reports(nlp, text):
    found = [q.text for q, _ in _extract(nlp(text), learned_filter=False)]
    assert found == ["Senator Ted Cruz"]


@pytest.mark.parametrize(
    "text, content, cue, speaker",
    [
        (
            "Trump believes that the deal is a disaster for American workers.",
            "that the deal is a disaster for American workers",
            "believes",
            "Trump",
        ),
        (
            "Many Republicans fear the party will lose the Senate in November.",
            "the party will lose the Senate in November",
            "fear",
            "Many Republicans",
        ),
        (
            "Clinton thinks the economy needs more investment in infrastructure.",
            "the economy needs more investment in infrastructure",
            "thinks",
            "Clinton",
        ),
        (
            "Voters doubt that either candidate can fix Washington.",
            "that either candidate can fix Washington",
            "doubt",
            "Voters",
        ),
        # A noun of saying: its possessor says it; the verb around it is not the cue.
        (
            "Trump's claim that the election was rigged drew sharp criticism from both parties.",
            "that the election was rigged",
            "claim",
            "Trump's",
        ),
        (
            "Sanders repeated his promise that he would break up the big banks.",
            "that he would break up the big banks",
            "promise",
            "his",
        ),
    ],
)
def test_what_a_belief_verb_or_a_noun_of_saying_reports_is_an_indirect_quote(
    nlp, text, content, cue, speaker
):
    # PolNeAR annotates beliefs and `X's claim that ...` as attributions.
    q = one(quotes(nlp, text), content)
    assert (q.text, q.kind, text_of(q.cue), text_of(q.speaker)) == (
        content,
        "indirect",
        cue,
        speaker,
    )


@pytest.mark.parametrize(
    "text",
    [
        # The speaker's own belief inside quote marks is part of the direct quote.
        '"I think the deal is a disaster," Trump said.',
        # A negated belief reports nothing, as a negated speech verb.
        "Trump does not believe the deal is fair to American workers.",
    ],
)
def test_belief_verbs_inside_quotes_or_negated_give_no_quote_of_their_own(nlp, text):
    assert [q.kind for q in quotes(nlp, text)] in ([], ["direct"])


@pytest.mark.parametrize(
    "text, content",
    [
        ("Sanders is hoping to win the nomination at the convention.", "to win the nomination"),
        ("The campaign hopes to raise $50 million before the primary.", "to raise $50 million"),
        ("Party leaders hoped to avoid a contested convention.", "to avoid a contested"),
    ],
)
def test_hoping_hoped_and_hopes_reach_the_hope_cue(nlp, text, content):
    # spaCy's lemmatizer makes `hop` of these forms; the cue is `hope` all the same.
    q = one(quotes(nlp, text), content)
    assert q.kind == "indirect" and q.cue is not None and q.cue.text.startswith("hop")


def test_a_relative_clause_on_a_noun_of_saying_is_no_quote(nlp):
    # `that` is the object of `made` here, not the mark of a reported clause.
    assert quotes(nlp, "The claim that he made on Tuesday was false.") == []


@pytest.mark.parametrize(
    "text, fragments, speaker",
    [
        # After the reported words' post-posed attribution.
        (
            'Obama "felt a moral obligation to do something about" climate change, Axelrod '
            'said. "This is not just a cosmetic item on his list. This is core stuff for him."',
            [
                'Obama "felt a moral obligation to do something about" climate change',
                '"This is not just a cosmetic item on his list. This is core stuff for him."',
            ],
            "Axelrod",
        ),
        # Right after reported speech, in the next paragraph.
        (
            "Carter said that for decades some critics had predicted a U.S. withdrawal.\n\n"
            "“That’s because this region remains the most consequential for America.”",
            [
                "that for decades some critics had predicted a U.S. withdrawal",
                "“That’s because this region remains the most consequential for America.”",
            ],
            "Carter",
        ),
    ],
)
def test_a_quote_right_after_reported_speech_continues_it(nlp, text, fragments, speaker):
    # PolNeAR: one attribution, content = the reported words and the quote after them.
    q = one(quotes(nlp, text), fragments[-1][5:20])
    assert [f.text for f in q.fragments] == fragments
    assert text_of(q.speaker) == speaker and text_of(q.cue) == "said"


@pytest.mark.parametrize(
    "text, speaker, cue",
    [
        ("“Would it be negotiable about the 11 million?” Hannity pressed.", "Hannity", "pressed"),
        ("“Our nation was attacked last night,” the statement read.", "the statement", "read"),
        ("“You know, it happens, right?” Trump went on.", "Trump", "went on"),
        ("“They must have been crushed by that,” Sanders shot back.", "Sanders", "shot back"),
    ],
)
def test_verbs_that_attribute_only_a_quote_next_to_them(nlp, text, speaker, cue):
    q = one(quotes(nlp, text), "”")
    assert text_of(q.speaker) == speaker and text_of(q.cue) == cue


def test_a_transcript_turn_is_what_the_named_speaker_said(nlp):
    text = (
        "Gov. Mary Fallin spoke to Jake Tapper on Sunday.\n"
        "TAPPER: Do you think Donald Trump has campaigned as a racial healer?\n"
        "FALLIN: I think he is trying to campaign as a racial healer.\n"
        "UPDATE: The website removed the listing on Monday."
    )
    found = quotes(nlp, text)
    q = one(found, "trying to campaign")
    assert q.text == "I think he is trying to campaign as a racial healer"
    assert text_of(q.speaker) == "FALLIN" and text_of(q.cue) == ":"
    assert text_of(one(found, "racial healer?").speaker) == "TAPPER"
    assert not [q for q in found if "website" in q.text]


def test_a_mixed_quote_stops_before_a_writers_aside_too(nlp):
    text = 'Ryan said Trump has a "lot of work" to do, which angered the campaign.'
    assert one(quotes(nlp, text), "lot of work").text == 'Trump has a "lot of work" to do'


def test_a_participle_of_saying_after_a_comma_reports_apart(nlp):
    text = "Obama said the law was working, insisting that premiums would fall."
    found = quotes(nlp, text)
    first = one(found, "working")
    assert first.text == "the law was working" and text_of(first.cue) == "said"
    second = one(found, "premiums")
    assert second.text == "that premiums would fall" and text_of(second.cue) == "insisting"


@pytest.mark.parametrize(
    "text, speaker",
    [
        # Never the object of a preposition after the cue; the name before it instead.
        ("“I’m impressed by his ability,” screenwriter Cole Haddon wrote on Twitter.", "Haddon"),
        ("“Feels great to support him,” the singer said at a rally in Iowa.", "singer"),
    ],
)
def test_the_speaker_is_never_a_noun_after_a_preposition_of_the_cue(nlp, text, speaker):
    q = one(quotes(nlp, text), "”")
    assert q.speaker is not None and speaker in q.speaker.text


def test_a_speaker_span_never_runs_back_into_the_quote(nlp):
    text = (
        "“Just saw the tweet. I am impressed by his ability to insult every kind of human "
        "being,” screenwriter Cole Haddon wrote on Twitter."
    )
    assert text_of(one(quotes(nlp, text), "impressed").speaker) == "screenwriter Cole Haddon"


# Answers of the character-by-character scanner the mark jumps replaced (kept as they
# were, odd ones included: a single quote stops at a double one, paragraph re-opening,
# excerpt markers, '' for a double mark, apostrophes).
@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("He said ‘no “way” out’ then left.", [(12, 17, True)]),
        ("She called it ‘a “plan” and left’ there.", [(17, 23, True)]),
        ("“First part,\n\n“second part,” he said.", [(0, 28, True)]),
        (
            '"Excerpt line one.\n\nTheir “own” quote here.\n\n"Another excerpt.\n\n'
            "And “more” words.\n\n“Fine,” she said.",
            [(0, 18, False), (26, 31, True), (45, 62, False), (68, 74, True), (83, 90, True)],
        ),
        (
            "''Like this,'' he said, ‘and this’ and the players' union's 'views'.",
            [(0, 14, True), (24, 67, True)],
        ),
        ("It’s ‘90s music, 'he said' and ‘open", [(5, 26, True)]),
    ],
)
def test_quote_mark_scanner_answers(text, want):
    assert [(q.start, q.end, q.closed) for q in find_quoted(text)] == want


# ----------------------------------------------------------- curate.quotes.v7 (beside v6)


def quotes_v(nlp, text: str, version: int) -> list[Quote]:
    out = extract_quotes(nlp(text), version=version)
    Document("t", text, quotes=tuple(out))
    return out


def test_v7_is_registered_beside_v6_and_v6_stays_the_default():
    from curate.extract import builtin

    assert get("curate.quotes.v7").required_pipes == get("curate.quotes.v6").required_pipes
    assert [e.name for e in builtin()][-1] == "curate.quotes.v6"


@pytest.mark.parametrize(
    "text, v6, v7",
    [
        (
            "The mayor insisted that the budget was “balanced and fair,” blaming the council"
            " for the delay.",
            "that the budget was “balanced and fair,” blaming the council for the delay",
            "that the budget was “balanced and fair,”",
        ),
        (
            "Coach Rivera said the team was “ready for anything,” pointing to a week of hard"
            " practice.",
            "the team was “ready for anything,” pointing to a week of hard practice",
            "the team was “ready for anything,”",
        ),
    ],
)
def test_v7_a_mixed_quote_ends_before_a_participle_after_its_closing_comma(nlp, text, v6, v7):
    (old,) = quotes_v(nlp, text, 6)
    assert old.text == v6
    (q,) = quotes_v(nlp, text, 7)
    assert (q.text, q.kind, text_of(q.cue)) == (v7, "mixed", text_of(old.cue))


@pytest.mark.parametrize(
    "text, quote",
    [
        (
            "The senator said on local radio, “We will not give up this fight for our farmers.”",
            "“We will not give up this fight for our farmers.”",
        ),
        (
            "Dr. Patel told the graduating class at Lincoln High, “Your work starts now, not"
            " later.”",
            "“Your work starts now, not later.”",
        ),
    ],
)
def test_v7_a_quoted_sentence_after_a_lead_in_of_where_or_to_whom_is_direct(nlp, text, quote):
    (old,) = quotes_v(nlp, text, 6)
    assert old.kind == "mixed" and old.text.endswith(quote) and old.text != quote
    (q,) = quotes_v(nlp, text, 7)
    assert (q.text, q.kind) == (quote, "direct")
    assert (text_of(q.speaker), text_of(q.cue)) == (text_of(old.speaker), text_of(old.cue))


def test_v7_a_lead_in_with_a_verb_keeps_the_mixed_quote(nlp):
    text = "Ms. Hale said that voters, who waited for hours, “Deserve a straight answer.”"
    (q,) = quotes_v(nlp, text, 7)
    assert (q.text, q.kind) == (
        "that voters, who waited for hours, “Deserve a straight answer.”",
        "mixed",
    )


def test_v7_a_mixed_quote_ends_at_a_quoted_sentence_closing_inside_its_marks(nlp):
    # The parser may run a report on into the next sentence; v7 cuts it at `.”`.
    from curate.extract.quotes import _Article, _Found, _mixed_bounds

    text = "Ms. Ruiz called the plan “a mistake.” Farmers in the valley agreed with her."
    art = _Article(nlp(text), 7)
    cue = text.index("called")
    f = _Found(text.index("the plan"), len(text) - 1, "mixed", cue=(cue, cue + 6))
    start, end, kind = _mixed_bounds(art, f, f.start, f.end)
    assert (text[start:end], kind) == ("the plan “a mistake.”", "mixed")
    # A cue standing after the full stop keeps the words before it (they are its report).
    late = text.index("agreed")
    g = _Found(f.start, f.end, "mixed", cue=(late, late + 6))
    assert _mixed_bounds(art, g, g.start, g.end) == (g.start, g.end, "mixed")


@pytest.mark.parametrize(
    "text, report",
    [
        (
            "“We are close to a deal,” Tripp said. “We only need one more vote.” Hart said the"
            " council had no money for it.",
            "the council had no money for it",
        ),
        (
            "“The storm is over and the roads are open.” The real test, the governor said,"
            " comes next week.",
            "comes next week",
        ),
    ],
)
def test_v7_a_cue_after_a_quote_closing_with_a_full_stop_reports_the_next_sentence(
    nlp, text, report
):
    # v6 gave the quote before the next sentence's cue (and no report of that sentence).
    assert not any(report in q.text for q in quotes_v(nlp, text, 6))
    found = quotes_v(nlp, text, 7)
    reported = one(found, report)
    assert reported.kind == "indirect"
    assert not any(q.cue == reported.cue for q in found if q is not reported)


def test_v7_a_quote_continued_after_its_attribution_keeps_its_fragments(nlp):
    text = (
        "“We are close to a deal,” Tripp said. “We only need one more vote.” Hart said the"
        " council had no money for it."
    )
    q = one(quotes_v(nlp, text, 7), "close to a deal")
    assert [f.text for f in q.fragments] == [
        "“We are close to a deal,”",
        "“We only need one more vote.”",
    ]
    assert (text_of(q.speaker), text_of(q.cue)) == ("Tripp", "said")
