namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// Martin Porter's 1980 suffix-stripping stemmer as his reference implementation (and Lucene's PorterStemFilter, the
/// default of Pyserini's English analyzer) has it, including the reference's departures from the paper: step 2 maps
/// "bli" to "ble" (not "abli" to "able") and adds "logi" to "log". Input is one lower-case token; words of one or two
/// letters are returned unchanged.
/// </summary>
public static class PorterStemmer
{
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length <= 2)
            return word;
        var state = new State(word.ToCharArray());
        state.Step1AB();
        if (state.End > 0)
        {
            state.Step1C();
            state.Step2();
            state.Step3();
            state.Step4();
            state.Step5();
        }
        return new string(state.Buffer, 0, state.End + 1);
    }

    // b[0..k] is the word being stemmed; j marks the end of the stem once ends() has matched a suffix.
    private struct State(char[] buffer)
    {
        public readonly char[] Buffer = buffer;
        public int End = buffer.Length - 1;
        private int _stemEnd;

        private readonly bool IsConsonant(int i) => Buffer[i] switch
        {
            'a' or 'e' or 'i' or 'o' or 'u' => false,
            'y' => i == 0 || !IsConsonant(i - 1),
            _ => true,
        };

        /// <summary>The number of vowel-consonant sequences in b[0..j] ([C](VC)^m[V]).</summary>
        private readonly int Measure()
        {
            int n = 0, i = Skip(0, consonants: true);
            while (true)
            {
                i = Skip(i, consonants: false);
                if (i > _stemEnd)
                    return n;
                i = Skip(i, consonants: true);
                n++;
                if (i > _stemEnd)
                    return n;
            }
        }

        /// <summary>The first index from i (at most j + 1) whose letter is not of the given kind.</summary>
        private readonly int Skip(int i, bool consonants)
        {
            while (i <= _stemEnd && IsConsonant(i) == consonants)
                i++;
            return i;
        }

        private readonly bool VowelInStem()
        {
            for (int i = 0; i <= _stemEnd; i++)
                if (!IsConsonant(i))
                    return true;
            return false;
        }

        private readonly bool DoubleConsonant(int j) => j >= 1 && Buffer[j] == Buffer[j - 1] && IsConsonant(j);

        /// <summary>consonant-vowel-consonant ending at i, the last consonant not w, x or y ("hop", not "snow").</summary>
        private readonly bool ConsonantVowelConsonant(int i) =>
            i >= 2 && IsConsonant(i) && !IsConsonant(i - 1) && IsConsonant(i - 2) && Buffer[i] is not ('w' or 'x' or 'y');

        private bool Ends(string suffix)
        {
            int length = suffix.Length;
            if (length > End + 1 || !Buffer.AsSpan(End - length + 1, length).SequenceEqual(suffix))
                return false;
            _stemEnd = End - length;
            return true;
        }

        private void SetTo(string replacement)
        {
            replacement.CopyTo(0, Buffer, _stemEnd + 1, replacement.Length);
            End = _stemEnd + replacement.Length;
        }

        private void ReplaceIfMeasured(string replacement)
        {
            if (Measure() > 0)
                SetTo(replacement);
        }

        // Replacing may lengthen the word only within its original length ("at" -> "ate" follows removing "ed").
        public void Step1AB()
        {
            if (Buffer[End] == 's')
            {
                if (Ends("sses"))
                    End -= 2;
                else if (Ends("ies"))
                    SetTo("i");
                else if (End >= 1 && Buffer[End - 1] != 's')
                    End--;
            }
            if (Ends("eed"))
            {
                if (Measure() > 0)
                    End--;
            }
            else if ((Ends("ed") || Ends("ing")) && VowelInStem())
            {
                End = _stemEnd;
                if (Ends("at"))
                    SetTo("ate");
                else if (Ends("bl"))
                    SetTo("ble");
                else if (Ends("iz"))
                    SetTo("ize");
                else if (DoubleConsonant(End))
                {
                    End--;
                    if (Buffer[End] is 'l' or 's' or 'z')
                        End++;
                }
                else
                {
                    _stemEnd = End;
                    if (Measure() == 1 && ConsonantVowelConsonant(End))
                        SetTo("e");
                }
            }
        }

        public void Step1C()
        {
            if (Ends("y") && VowelInStem())
                Buffer[End] = 'i';
        }

        private static readonly (string Suffix, string Replacement)[] Step2Rules =
        [
            ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("bli", "ble"),
            ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
            ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
            ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
        ];

        private static readonly (string Suffix, string Replacement)[] Step3Rules =
        [
            ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
        ];

        private static readonly string[] Step4Suffixes =
        [
            "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate",
            "iti", "ous", "ive", "ize",
        ];

        // The reference dispatches on the penultimate (step 2, 4) or last (step 3) letter and takes the first suffix
        // that matches in its list order; scanning the rules in that same order gives the same first match.
        public void Step2() => ApplyFirst(Step2Rules);

        public void Step3() => ApplyFirst(Step3Rules);

        private void ApplyFirst((string Suffix, string Replacement)[] rules)
        {
            foreach ((string suffix, string replacement) in rules)
                if (Ends(suffix))
                {
                    ReplaceIfMeasured(replacement);
                    return;
                }
        }

        public void Step4()
        {
            foreach (string suffix in Step4Suffixes)
            {
                if (!Ends(suffix))
                    continue;
                if (suffix == "ion" && (_stemEnd < 0 || Buffer[_stemEnd] is not ('s' or 't')))
                    continue;
                if (Measure() > 1)
                    End = _stemEnd;
                return;
            }
        }

        public void Step5()
        {
            _stemEnd = End;
            if (Buffer[End] == 'e')
            {
                int measure = Measure();
                if (measure > 1 || (measure == 1 && !ConsonantVowelConsonant(End - 1)))
                    End--;
            }
            if (Buffer[End] == 'l' && DoubleConsonant(End) && Measure() > 1)
                End--;
        }
    }
}
