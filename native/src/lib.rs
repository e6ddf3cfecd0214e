//! vox's text sentiment reader, compiled: `vox.core.sentiment.text`'s reading of a text (its
//! language, the lexicon's balance of opinion, the learned terms' sums), step for step, about nine
//! times faster than the Python reference. The Python module owns every word list, lexicon and
//! constant and hands them to `Reader`; this file holds only the procedure, which the test suite
//! checks against the reference text by text (tests/unit/test_sentiment_native.py).

use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};

const EN: usize = 0;
const FR: usize = 1;

/// What the reader knows of one word, in each language (English first, then French).
#[derive(Default)]
struct Word {
    valence: [Option<f64>; 2],
    negation: [bool; 2],
    booster: [Option<f64>; 2],
    contrast: [bool; 2],
    function: [bool; 2],
    liker: bool,
    learned: Option<f64>,
}

#[pyclass(frozen)]
struct Reader {
    ids: FxHashMap<String, u32>,
    words: Vec<Word>,
    pairs: FxHashMap<u64, f64>, // a learned pair of words, by `pair_key`
    like: u32,
    too: u32,
    too_valence: f64,
    k: f64,
    negation_scale: f64,
    boost: f64,
    contrast_before: f64,
    contrast_after: f64,
    negation_reach: usize,
    max_chars: usize,
    learning: bool,
}

fn pair_key(first: u32, second: u32) -> u64 {
    ((first as u64 + 1) << 32) | second as u64 // above every word's own key (its id)
}

/// `str.isspace()`: Rust's White_Space plus the four separators Python also splits on.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `_BLANKS`: what a lowercased character becomes. Sentence ends '.', other punctuation a
/// blank, the typographic apostrophe a plain one.
const fn blanked(c: char) -> char {
    match c {
        ',' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '«' | '»' | '“' | '”' | '/' | '*' | '#' | '~' | '_'
        | '=' | '+' | '<' | '>' | '|' | '\\' | '\t' => ' ',
        '!' | '?' | ';' | '…' | '\n' => '.',
        '’' => '\'',
        _ => c,
    }
}

/// `blanked` of each ASCII byte, lowercased: most of a text is read through this table.
const ASCII: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        table[i] = blanked((i as u8).to_ascii_lowercase() as char) as u8;
        i += 1;
    }
    table
};

/// One lowercased character, blanked, onto `out` (in French a blank after an apostrophe).
fn push_blanked(out: &mut Vec<u8>, c: char, french: bool) {
    let c = blanked(c);
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    if french && c == '\'' {
        out.push(b' ');
    }
}

/// `text[:max_chars].lower().translate(_BLANKS)` (and `_ELISION` in French: a blank after each
/// apostrophe).
fn normalised(text: &str, max_chars: usize, french: bool) -> String {
    let cut = text.char_indices().nth(max_chars).map_or(text.len(), |(i, _)| i);
    let text = &text[..cut];
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 8);
    if text.contains('Σ') {
        // the one context-dependent rule of lowercasing (a final sigma): the whole string's
        text.to_lowercase().chars().for_each(|c| push_blanked(&mut out, c, french));
    } else {
        // else character by character gives the same: ASCII by the table, the rest one by one
        let mut rest = text;
        while !rest.is_empty() {
            let run = rest.bytes().position(|b| !b.is_ascii()).unwrap_or(rest.len());
            for &b in &rest.as_bytes()[..run] {
                let byte = ASCII[b as usize];
                out.push(byte);
                if french && byte == b'\'' {
                    out.push(b' ');
                }
            }
            rest = &rest[run..];
            if let Some(c) = rest.chars().next() {
                c.to_lowercase().for_each(|lower| push_blanked(&mut out, lower, french));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    String::from_utf8(out).expect("characters encoded one by one")
}

/// The words of a normalised text and where each sentence ends (exclusive indexes into `words`).
fn sentences(normal: &str) -> (Vec<&str>, Vec<usize>) {
    let mut words = Vec::new();
    let mut ends = Vec::new();
    for sentence in normal.split('.') {
        let before = words.len();
        words.extend(sentence.split(python_space).filter(|w| !w.is_empty()));
        if words.len() > before {
            ends.push(words.len());
        }
    }
    (words, ends)
}

/// `EMOTICONS`: with `(?<!\S)` and `(?!\S)` a face is a whole whitespace-separated token.
fn is_emoticon(token: &str) -> bool {
    let chars: Vec<char> = token.chars().collect();
    let eyes = |c: char| ":;=8xX".contains(c);
    let nose = |c: char| "-'^".contains(c);
    let mouth = |c: char| "()[]DPpOo3/\\|*".contains(c);
    let brackets = |c: char| "()[]".contains(c);
    if chars.is_empty() {
        return false;
    }
    if token == "<3" {
        return true;
    }
    // [:;=8xX][-'^]?[mouth]+
    if eyes(chars[0]) {
        let mut i = 1;
        if i < chars.len() && nose(chars[i]) {
            i += 1;
        }
        if i < chars.len() && chars[i..].iter().all(|&c| mouth(c)) {
            return true;
        }
        // the nose is optional: "8-" is not a face, but ":-" followed by mouths was tried above
    }
    // [()\[\]]+[-'^]?[:;=]
    let last = chars[chars.len() - 1];
    if chars.len() >= 2 && ":;=".contains(last) {
        let body = &chars[..chars.len() - 1];
        let body = if nose(body[body.len() - 1]) { &body[..body.len() - 1] } else { body };
        return !body.is_empty() && body.iter().all(|&c| brackets(c));
    }
    false
}

impl Reader {
    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.words.push(Word::default());
        id
    }

    fn learn_language(&mut self, lang: usize, d: &Bound<'_, PyAny>) -> PyResult<()> {
        let lexicon: HashMap<String, f64> = d.get_item("lexicon")?.extract()?;
        let boosters: HashMap<String, f64> = d.get_item("boosters")?.extract()?;
        for (word, valence) in lexicon {
            let id = self.id(&word) as usize;
            self.words[id].valence[lang] = Some(valence);
        }
        for (word, boost) in boosters {
            let id = self.id(&word) as usize;
            self.words[id].booster[lang] = Some(boost);
        }
        for (name, flag) in [("negations", 0), ("contrasts", 1), ("function_words", 2)] {
            let words: HashSet<String> = d.get_item(name)?.extract()?;
            for word in words {
                let id = self.id(&word) as usize;
                let w = &mut self.words[id];
                match flag {
                    0 => w.negation[lang] = true,
                    1 => w.contrast[lang] = true,
                    _ => w.function[lang] = true,
                }
            }
        }
        Ok(())
    }

    /// `detect_language`: by function words, then by the words each lexicon knows.
    fn detect(&self, ids: &[Option<u32>]) -> Option<&'static str> {
        // distinct words of each kind: the few that are of that kind, sorted, not every word
        let count = |f: &dyn Fn(&Word) -> bool| {
            let mut present: Vec<u32> = ids.iter().flatten().copied().filter(|&id| f(&self.words[id as usize])).collect();
            present.sort_unstable();
            present.dedup();
            present.len()
        };
        let (mut en, mut fr) = (count(&|w| w.function[EN]), count(&|w| w.function[FR]));
        if en == fr {
            (en, fr) = (count(&|w| w.valence[EN].is_some()), count(&|w| w.valence[FR].is_some()));
        }
        match en.cmp(&fr) {
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some("en"),
            std::cmp::Ordering::Less => Some("fr"),
        }
    }

    fn ids_of(&self, words: &[&str]) -> Vec<Option<u32>> {
        words.iter().map(|w| self.ids.get(*w).copied()).collect()
    }

    /// `_sentence_valences`: one sentence's opinion words, with boosters, negation and contrast.
    fn sentence_valences(&self, sentence: &[Option<u32>], lang: usize, out: &mut Vec<f64>) {
        let english = lang == EN;
        let word = |i: usize| sentence[i].map(|id| &self.words[id as usize]);
        let plain = sentence.iter().all(|id| match id {
            None => true,
            Some(id) => {
                let w = &self.words[*id as usize];
                !w.negation[lang] && w.booster[lang].is_none() && !w.contrast[lang]
                    && !(english && (*id == self.like || *id == self.too))
            }
        });
        if plain {
            // `filter(None, ...)`: a word of valence 0 counts for nothing here
            out.extend((0..sentence.len()).filter_map(|i| word(i).and_then(|w| w.valence[lang])).filter(|v| *v != 0.0));
            return;
        }
        let negation = |i: usize| word(i).is_some_and(|w| w.negation[lang]);
        let booster = |i: usize| word(i).and_then(|w| w.booster[lang]).unwrap_or(0.0);
        let turn = (0..sentence.len()).position(|i| word(i).is_some_and(|w| w.contrast[lang]));
        for i in 0..sentence.len() {
            let Some(id) = sentence[i] else { continue };
            if english && id == self.too {
                if i + 1 < sentence.len() && word(i + 1).and_then(|w| w.valence[lang]).unwrap_or(0.0) <= 0.0 {
                    out.push(self.too_valence);
                }
                continue;
            }
            let Some(known) = self.words[id as usize].valence[lang] else { continue };
            if english && id == self.like && (i == 0 || (!word(i - 1).is_some_and(|w| w.liker) && !negation(i - 1))) {
                continue;
            }
            let mut valence = known;
            if i > 0 {
                let boost = booster(i - 1) + if i > 1 { 0.95 * booster(i - 2) } else { 0.0 };
                if boost != 0.0 {
                    valence += self.boost * boost * if valence > 0.0 { 1.0 } else { -1.0 };
                }
                if (i.saturating_sub(self.negation_reach)..i).any(negation) {
                    valence *= self.negation_scale;
                }
            }
            if let Some(turn) = turn {
                valence *= if i < turn {
                    self.contrast_before
                } else if i > turn {
                    self.contrast_after
                } else {
                    1.0
                };
            }
            out.push(valence);
        }
    }

    /// The learned terms' sum of weights and the squared norm of their counts (`term_sums`).
    fn learned_sums(&self, ids: &[Option<u32>]) -> (f64, i64) {
        let mut total = 0.0;
        let mut known: Vec<u64> = Vec::with_capacity(2 * ids.len());
        // the words first, then the pairs: the order of the reference's sum
        for id in ids.iter().flatten() {
            if let Some(w) = self.words[*id as usize].learned {
                total += w;
                known.push(*id as u64);
            }
        }
        for two in ids.windows(2) {
            if let (Some(a), Some(b)) = (two[0], two[1]) {
                if let Some(w) = self.pairs.get(&pair_key(a, b)) {
                    total += w;
                    known.push(pair_key(a, b));
                }
            }
        }
        known.sort_unstable();
        let mut norm_sq = 0i64;
        let mut run = 0i64;
        for (i, key) in known.iter().enumerate() {
            run = if i > 0 && known[i - 1] == *key { run + 1 } else { 1 };
            norm_sq += 2 * run - 1; // (c + 1)^2 - c^2 for the run's c-th repeat
        }
        (total, norm_sq)
    }
}

#[pymethods]
impl Reader {
    #[new]
    #[pyo3(signature = (en, fr, likers, excess, learned, constants))]
    fn new(
        en: &Bound<'_, PyAny>,
        fr: &Bound<'_, PyAny>,
        likers: HashSet<String>,
        excess: (String, f64),
        learned: HashMap<String, f64>,
        constants: HashMap<String, f64>,
    ) -> PyResult<Self> {
        let constant = |name: &str| {
            constants.get(name).copied().ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(name.to_string()))
        };
        let mut reader = Reader {
            ids: FxHashMap::default(),
            words: Vec::new(),
            pairs: FxHashMap::default(),
            like: 0,
            too: 0,
            too_valence: excess.1,
            k: constant("K")?,
            negation_scale: constant("NEGATION_SCALE")?,
            boost: constant("BOOST")?,
            contrast_before: constant("CONTRAST_BEFORE")?,
            contrast_after: constant("CONTRAST_AFTER")?,
            negation_reach: constant("NEGATION_REACH")? as usize,
            max_chars: constant("MAX_CHARS")? as usize,
            learning: !learned.is_empty(),
        };
        reader.learn_language(EN, en)?;
        reader.learn_language(FR, fr)?;
        reader.like = reader.id("like");
        reader.too = reader.id(&excess.0);
        for word in likers {
            let id = reader.id(&word) as usize;
            reader.words[id].liker = true;
        }
        for (term, weight) in learned {
            match term.split_once(' ') {
                Some((a, b)) => {
                    let key = pair_key(reader.id(a), reader.id(b));
                    reader.pairs.insert(key, weight);
                }
                None => {
                    let id = reader.id(&term) as usize;
                    reader.words[id].learned = Some(weight);
                }
            }
        }
        Ok(reader)
    }

    /// (language, balance or None, opinion words, learned weight sum, squared norm of the
    /// learned terms' counts) of a text that is not blank; `lang` the base language or None.
    #[pyo3(signature = (text, lang))]
    fn read(&self, text: &str, lang: Option<&str>) -> (Option<String>, Option<f64>, usize, f64, i64) {
        let mut normal = normalised(text, self.max_chars, lang == Some("fr"));
        let (mut words, mut ends) = sentences(&normal);
        let mut ids = self.ids_of(&words);
        let code: Option<String> = match lang {
            Some(code) => Some(code.to_string()),
            None => {
                let detected = self.detect(&ids);
                if detected == Some("fr") {
                    normal = normalised(text, self.max_chars, true);
                    (words, ends) = sentences(&normal);
                    ids = self.ids_of(&words);
                }
                detected.map(str::to_string)
            }
        };
        let language = match code.as_deref() {
            Some("en") => EN,
            Some("fr") => FR,
            _ => return (code, None, 0, 0.0, 0),
        };
        let mut valences: Vec<f64> = Vec::new();
        let mut start = 0;
        for &end in &ends {
            let sentence = &ids[start..end];
            if sentence[0].is_some_and(|id| self.words[id as usize].contrast[language]) {
                for v in valences.iter_mut() {
                    *v *= self.contrast_before;
                }
            }
            self.sentence_valences(sentence, language, &mut valences);
            start = end;
        }
        if text.contains(':') || text.contains(';') || text.contains("<3") {
            let cut = text.char_indices().nth(self.max_chars).map_or(text.len(), |(i, _)| i);
            for token in text[..cut].split(python_space).filter(|t| is_emoticon(t)) {
                let valence = self.ids.get(token).and_then(|&id| self.words[id as usize].valence[EN]);
                valences.push(valence.unwrap_or(0.0));
            }
        }
        let balance = if valences.is_empty() {
            None
        } else {
            let net: f64 = valences.iter().fold(0.0, |s, v| s + v);
            let gross: f64 = valences.iter().fold(0.0, |s, v| s + v.abs());
            Some(net / (gross + self.k))
        };
        let (total, norm_sq) = if language == EN && self.learning { self.learned_sums(&ids) } else { (0.0, 0) };
        (code, balance, valences.len(), total, norm_sq)
    }
}

#[pymodule]
fn vox_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reader>()
}
