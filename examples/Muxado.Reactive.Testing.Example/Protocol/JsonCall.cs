using System.Text.Json;
using System.Text.Json.Serialization;

namespace Muxado.Reactive.Testing.Example.Protocol;

/// <summary>A request: one call per stream, the JSON object written and the stream half-closed.</summary>
public sealed record JsonRequest(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("params")] int[] Params)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static JsonRequest Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<JsonRequest>(json) ?? throw new JsonException("an empty request");
}

/// <summary>The answer to a <see cref="JsonRequest"/>: the JSON object written back and the stream closed.</summary>
public sealed record JsonReply(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("result")] int? Result,
    [property: JsonPropertyName("error")] string? Error)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static JsonReply Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<JsonReply>(json) ?? throw new JsonException("an empty reply");
}

/// <summary>A reply that carried an error.</summary>
public sealed class JsonCallException(string message) : Exception(message);
