using System.Text;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class TinyTokenizerFactoryTests
{
    [Fact]
    public void Default_tokenizer_has_1024_ids_with_the_plain_special_tokens_first()
    {
        var tokenizer = TinyTokenizerFactory.Create();
        Assert.Equal(1024, tokenizer.VocabSize);
        Assert.Equal(["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
            Enumerable.Range(0, 6).Select(tokenizer.IdToToken));
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(2, tokenizer.EosTokenId);
        Assert.Equal(0, tokenizer.PadTokenId);
        Assert.Equal(PlainChatTemplate.TemplateName, ChatTemplates.Detect(tokenizer).Name);
        Assert.Same(tokenizer, TinyTokenizerFactory.Create());
    }

    [Fact]
    public void Corpus_is_tens_of_kilobytes_of_agent_text()
    {
        int bytes = TinyCorpus.Texts.Sum(t => Encoding.UTF8.GetByteCount(t));
        Assert.InRange(bytes, 30_000, 200_000);
        string all = string.Concat(TinyCorpus.Texts);
        Assert.Contains("Action: search[", all);
        Assert.Contains(" [SEP] ", all);
        Assert.Contains("take ", all);
        Assert.Contains("You are in the middle of a room.", all);
    }

    [Fact]
    public void Compresses_agent_text()
    {
        var tokenizer = TinyTokenizerFactory.Create();
        string text = "Thought: I think I should search for a stainless steel water bottle.\nAction: search[stainless steel water bottle 32 oz]";
        Assert.True(tokenizer.Encode(text).Length < text.Length / 2.5);
    }

    [Fact]
    public void A_tokenizer_that_also_learns_from_an_environments_text_encodes_that_text_in_fewer_tokens()
    {
        // Pages of a made-up shop: boilerplate and product words the built-in corpus has never seen.
        string[] products = ["quasar lantern", "nebula kettle", "zephyr hammock", "tundra blanket", "meridian teapot"];
        string[] corpus = Enumerable.Range(0, 300).Select(i =>
            $"Storefront [SEP] Basket Overview [SEP] {products[i % products.Length]} [SEP] Unit Price: ${i % 97}.{i % 10}9 " +
            $"[SEP] Dispatch Estimate [SEP] Add To Basket [SEP] Item {i * 7919 % 10007}").ToArray();
        BpeTokenizer learned = TinyTokenizerFactory.Create(2048, TinyTokenizerStyle.Plain, corpus);
        BpeTokenizer builtIn = TinyTokenizerFactory.Create();

        // Merges stop when no pair occurs twice: up to the requested size, well above the built-in corpus's 1,024.
        Assert.InRange(learned.VocabSize, 1500, 2048);
        Assert.Equal(PlainChatTemplate.TokenizerSpecialTokens, Enumerable.Range(0, 6).Select(id => learned.IdToToken(id)));
        string page = "Storefront [SEP] Basket Overview [SEP] zephyr hammock [SEP] Unit Price: $12.59 [SEP] Dispatch Estimate [SEP] Add To Basket";
        Assert.True(learned.Encode(page).Length * 2 < builtIn.Encode(page).Length,
            $"{learned.Encode(page).Length} tokens learned vs {builtIn.Encode(page).Length} built-in");
        Assert.Equal(page, learned.Decode(learned.Encode(page)));
        // Learned once per corpus (model init sizes the weights, then writes them), and deterministic: a copy of the
        // corpus trains again and gives the same merges.
        Assert.Same(learned, TinyTokenizerFactory.Create(2048, TinyTokenizerStyle.Plain, corpus));
        Assert.Equal(learned.Encode(page), TinyTokenizerFactory.Create(2048, TinyTokenizerStyle.Plain, corpus.ToArray()).Encode(page));
    }

    [Fact]
    public void Llama3_style_prepends_bos_on_encode_with_special_tokens()
    {
        var tokenizer = TinyTokenizerFactory.Create(style: TinyTokenizerStyle.Llama3);
        Assert.Equal(0, tokenizer.BosTokenId);
        Assert.Equal("<|eot_id|>", tokenizer.IdToToken(tokenizer.EosTokenId!.Value));
        int[] ids = tokenizer.Encode("hello", addSpecialTokens: true);
        Assert.Equal(0, ids[0]);
        Assert.Equal(tokenizer.Encode("hello"), ids[1..]);
        Assert.Equal(Llama3Template.TemplateName, ChatTemplates.Detect(tokenizer).Name);
    }

    [Fact]
    public void ChatMl_style_has_qwen_like_special_tokens()
    {
        var tokenizer = TinyTokenizerFactory.Create(512, TinyTokenizerStyle.ChatMl);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal("<|im_end|>", tokenizer.IdToToken(tokenizer.EosTokenId!.Value));
        Assert.Equal("<|endoftext|>", tokenizer.IdToToken(tokenizer.PadTokenId!.Value));
        Assert.Equal(ChatMlTemplate.TemplateName, ChatTemplates.Detect(tokenizer).Name);
    }
}
