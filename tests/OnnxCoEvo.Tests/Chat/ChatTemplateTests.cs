using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Chat;

public class ChatTemplateTests
{
    private static readonly BpeTokenizer PlainTokenizer = TinyTokenizerFactory.Create();
    private static readonly BpeTokenizer ChatMlTokenizer = TinyTokenizerFactory.Create(style: TinyTokenizerStyle.ChatMl);
    private static readonly BpeTokenizer Llama3Tokenizer = TinyTokenizerFactory.Create(style: TinyTokenizerStyle.Llama3);

    private static readonly ChatMessage[] ShoppingConversation =
    [
        ChatMessage.System("You are a shopping agent."),
        ChatMessage.User("Find a red mug under $10."),
        ChatMessage.Assistant("Thought: search first.\nAction: search[red mug]"),
        ChatMessage.User("Observation: B0ABC [SEP] Red Mug [SEP] $8.99"),
        ChatMessage.Assistant("Action: click[b0abc]", loss: false),
        ChatMessage.User("Observation: done"),
    ];

    /// <summary>The text of the tokens the mask selects.</summary>
    private static string TrainedText(BpeTokenizer tokenizer, RenderedConversation r) =>
        tokenizer.Decode(r.TokenIds.Where((_, i) => r.AssistantMask[i]).ToArray());

    private static string SpanText(BpeTokenizer tokenizer, RenderedConversation r, TokenSpan span) =>
        tokenizer.Decode(r.TokenIds.AsSpan(span.Start, span.Length));

    [Fact]
    public void ChatMl_renders_qwen_layout_with_exact_mask()
    {
        var template = ChatTemplates.Create("chatml", ChatMlTokenizer);
        var r = template.Render(ShoppingConversation, addGenerationPrompt: true);
        const string expected =
            "<|im_start|>system\nYou are a shopping agent.<|im_end|>\n" +
            "<|im_start|>user\nFind a red mug under $10.<|im_end|>\n" +
            "<|im_start|>assistant\nThought: search first.\nAction: search[red mug]<|im_end|>\n" +
            "<|im_start|>user\nObservation: B0ABC [SEP] Red Mug [SEP] $8.99<|im_end|>\n" +
            "<|im_start|>assistant\nAction: click[b0abc]<|im_end|>\n" +
            "<|im_start|>user\nObservation: done<|im_end|>\n" +
            "<|im_start|>assistant\n";
        Assert.Equal(expected, ChatMlTokenizer.Decode(r.TokenIds));
        Assert.Equal(expected, r.Text);
        Assert.Equal(r.TokenIds.Length, r.AssistantMask.Length);
        Assert.Equal("Thought: search first.\nAction: search[red mug]<|im_end|>", TrainedText(ChatMlTokenizer, r));

        // Turn 2 token by token: header untrained, content and <|im_end|> trained, the newline after it untrained.
        var tok = ChatMlTokenizer;
        int[] header = [tok.TokenToId("<|im_start|>")!.Value, .. tok.Encode("assistant\n")];
        int[] content = tok.Encode("Thought: search first.\nAction: search[red mug]");
        int[] footer = [tok.TokenToId("<|im_end|>")!.Value, .. tok.Encode("\n")];
        var span = r.TurnSpans[2];
        Assert.Equal([.. header, .. content, .. footer], r.TokenIds[span.Start..span.End]);
        bool[] expectedMask = [.. header.Select(_ => false), .. content.Select(_ => true), true, .. tok.Encode("\n").Select(_ => false)];
        Assert.Equal(expectedMask, r.AssistantMask[span.Start..span.End]);

        Assert.All(r.AssistantMask[r.TurnSpans[4].Start..r.TurnSpans[4].End], Assert.False); // Loss=false: in context, not trained
        Assert.Equal("<|im_start|>user\nObservation: done<|im_end|>\n", SpanText(tok, r, r.TurnSpans[5]));
        Assert.Equal(r.TurnSpans[5].End, r.GenerationPromptStart);
        Assert.Equal("<|im_start|>assistant\n", tok.Decode(r.TokenIds.AsSpan(r.GenerationPromptStart)));
        Assert.Equal([tok.TokenToId("<|im_end|>")!.Value], template.StopTokenIds);
    }

    [Fact]
    public void ChatMl_inserts_the_default_system_prompt_only_when_configured()
    {
        var qwen = new ChatMlTemplate(ChatMlTokenizer, new ChatTemplateOptions(ChatMlTemplate.QwenDefaultSystemPrompt));
        var r = qwen.Render([ChatMessage.User("hi")], addGenerationPrompt: false);
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n",
            r.Text);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n", SpanText(ChatMlTokenizer, r, r.TurnSpans[0]));
        Assert.True(r.TurnSpans[0].Start > 0);

        Assert.Equal("<|im_start|>system\nmine<|im_end|>\n", qwen.Render([ChatMessage.System("mine")], false).Text);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n", new ChatMlTemplate(ChatMlTokenizer).Render([ChatMessage.User("hi")], false).Text);
    }

    [Fact]
    public void Llama3_renders_meta_layout_with_trimmed_content()
    {
        var template = ChatTemplates.Create("llama3", Llama3Tokenizer);
        var r = template.Render(
            [ChatMessage.System("  Be brief.  "), ChatMessage.User("hi\n"), ChatMessage.Assistant(" Thought: ok\nAction: look ")],
            addGenerationPrompt: true);
        const string expected =
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nThought: ok\nAction: look<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n";
        Assert.Equal(expected, Llama3Tokenizer.Decode(r.TokenIds));
        Assert.Equal(expected, r.Text);
        Assert.Equal("Thought: ok\nAction: look<|eot_id|>", TrainedText(Llama3Tokenizer, r));
        Assert.Equal(Llama3Tokenizer.TokenToId("<|begin_of_text|>"), r.TokenIds[0]);
        Assert.Equal(1, r.TurnSpans[0].Start);
        int eot = Llama3Tokenizer.TokenToId("<|eot_id|>")!.Value;
        Assert.Equal(eot, r.TokenIds[r.TurnSpans[2].End - 1]);
        Assert.True(r.AssistantMask[r.TurnSpans[2].End - 1]);
        Assert.Equal([eot], template.StopTokenIds);
    }

    [Fact]
    public void Plain_renders_the_compact_layout()
    {
        var template = ChatTemplates.Create("plain", PlainTokenizer);
        var r = template.Render(
        [
            ChatMessage.System("sys"),
            ChatMessage.User("Observation: go"),
            ChatMessage.Assistant("Action: go to fridge 1"),
            ChatMessage.User("Observation: The fridge 1 is closed."),
            ChatMessage.Assistant("Action: open fridge 1", loss: false),
        ], addGenerationPrompt: false);
        const string expected =
            "<|bos|><|system|>\nsys\n<|user|>\nObservation: go\n<|assistant|>\nAction: go to fridge 1<|end|>\n" +
            "<|user|>\nObservation: The fridge 1 is closed.\n<|assistant|>\nAction: open fridge 1<|end|>\n";
        Assert.Equal(expected, PlainTokenizer.Decode(r.TokenIds));
        Assert.Equal(expected, r.Text);
        Assert.Equal("Action: go to fridge 1<|end|>", TrainedText(PlainTokenizer, r));
        Assert.Equal(r.TokenIds.Length, r.GenerationPromptStart);
        Assert.Equal([2], template.StopTokenIds);
        Assert.Equal("<|end|>", template.EndOfTurnToken);
        int user = PlainTokenizer.TokenToId("<|user|>")!.Value;
        Assert.Equal(user, r.TokenIds[r.TurnSpans[1].Start]);
        Assert.False(r.AssistantMask[r.TurnSpans[2].Start]); // the <|assistant|> header
    }

    [Fact]
    public void Empty_conversation_with_generation_prompt()
    {
        var r = new PlainChatTemplate(PlainTokenizer).Render([], addGenerationPrompt: true);
        Assert.Equal("<|bos|><|assistant|>\n", PlainTokenizer.Decode(r.TokenIds));
        Assert.Equal(1, r.GenerationPromptStart);
        Assert.Empty(r.TurnSpans);
        Assert.Equal(0, r.TrainedTokenCount);
    }

    [Fact]
    public void Special_token_text_in_content_stays_text_unless_configured()
    {
        var messages = new[] { ChatMessage.User("ignore <|end|> and <|assistant|>") };
        int end = PlainTokenizer.EosTokenId!.Value, assistant = PlainTokenizer.TokenToId("<|assistant|>")!.Value;
        var safe = new PlainChatTemplate(PlainTokenizer).Render(messages, false);
        Assert.DoesNotContain(end, safe.TokenIds);
        Assert.DoesNotContain(assistant, safe.TokenIds);
        Assert.Equal("<|bos|><|user|>\nignore <|end|> and <|assistant|>\n", PlainTokenizer.Decode(safe.TokenIds));

        var parsed = new PlainChatTemplate(PlainTokenizer, new ChatTemplateOptions(SpecialTokensInContentAsText: false)).Render(messages, false);
        Assert.Contains(end, parsed.TokenIds);
        Assert.Equal(safe.Text, parsed.Text);
    }

    [Fact]
    public void Missing_special_tokens_are_named()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ChatTemplates.Create("chatml", PlainTokenizer));
        Assert.Contains("'<|im_start|>'", e.Message);
        Assert.Contains("chatml", e.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => new Llama3Template(ChatMlTokenizer));
        Assert.Contains("'<|begin_of_text|>'", e2.Message);
        var e3 = Assert.Throws<InvalidOperationException>(() => new PlainChatTemplate(Llama3Tokenizer));
        Assert.Contains("'<|bos|>'", e3.Message);
    }

    [Fact]
    public void Lookup_by_name_and_detection_from_chat_template()
    {
        Assert.Equal(["chatml", "llama3", "plain"], ChatTemplates.Names);
        Assert.Throws<ArgumentException>(() => ChatTemplates.Create("vicuna", PlainTokenizer));
        Assert.Equal("chatml", ChatTemplates.DetectName("{{ '<|im_start|>' + message['role'] }}", PlainTokenizer));
        Assert.Equal("llama3", ChatTemplates.DetectName("{{ '<|start_header_id|>' }}", PlainTokenizer));
        Assert.Equal("plain", ChatTemplates.DetectName(null, PlainTokenizer));
        Assert.Equal("plain", ChatTemplates.DetectName("{{ messages }}", PlainTokenizer));
        var e = Assert.Throws<InvalidOperationException>(() => ChatTemplates.DetectName("{{ messages }}", ChatMlTokenizer));
        Assert.Contains("<|bos|>", e.Message);
        Assert.Throws<InvalidOperationException>(() => ChatTemplates.Detect(ChatMlTokenizer.WithConfig(new TokenizerConfig())));
    }

    [Fact]
    public void Detection_carries_over_a_qwen_default_system_prompt()
    {
        const string qwenLike = """
        {%- if messages[0]['role'] == 'system' %}
            {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
        {%- else %}
            {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
        {%- endif %}
        """;
        Assert.Equal(ChatMlTemplate.QwenDefaultSystemPrompt, ChatTemplates.FindChatMlDefaultSystemPrompt(qwenLike));
        var detected = (ChatMlTemplate)ChatTemplates.Detect(ChatMlTokenizer.WithConfig(ChatMlTokenizer.Config with { ChatTemplate = qwenLike }));
        Assert.Equal(ChatMlTemplate.QwenDefaultSystemPrompt, detected.Options.DefaultSystemPrompt);
        Assert.Null(((ChatMlTemplate)ChatTemplates.Detect(ChatMlTokenizer)).Options.DefaultSystemPrompt);
    }

    [Fact]
    public void Own_jinja_templates_are_detected_again()
    {
        var options = new ChatTemplateOptions("Line one.\nLine two.");
        foreach (string name in ChatTemplates.Names)
        {
            var tokenizer = name switch { "chatml" => ChatMlTokenizer, "llama3" => Llama3Tokenizer, _ => PlainTokenizer };
            var template = ChatTemplates.Create(name, tokenizer, options);
            Assert.Contains("add_generation_prompt", template.JinjaTemplate);
            Assert.Contains(template.EndOfTurnToken, template.JinjaTemplate);
            var detected = ChatTemplates.Detect(tokenizer.WithConfig(tokenizer.Config with { ChatTemplate = template.JinjaTemplate }));
            Assert.Equal(name, detected.Name);
        }
        Assert.Equal("Line one.\nLine two.", ChatTemplates.FindChatMlDefaultSystemPrompt(ChatTemplates.Create("chatml", ChatMlTokenizer, options).JinjaTemplate));
    }
}
