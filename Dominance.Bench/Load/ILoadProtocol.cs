namespace Dominance.Bench.Load;

/// <summary>
/// What a load client's bytes mean on one connection: how it opens, how a line is sent, and how what arrives is cut
/// into lines. One instance per connection (it keeps what a read left incomplete); called on the connection's receive
/// thread, except <see cref="Encode"/>.
/// </summary>
internal interface ILoadProtocol
{
    /// <summary>Starts the connection: sends what opens it, or says it is open (<see cref="LoadClient.Opened"/>).</summary>
    void Start(LoadClient client);

    /// <summary>The bytes that send <paramref name="line"/> to the server.</summary>
    byte[] Encode(string line);

    /// <summary>Handles bytes as they arrived, in order: every complete line goes to <see cref="LoadClient.OnLine"/>.</summary>
    /// <exception cref="IOException">The server broke the protocol or closed the connection.</exception>
    void Read(LoadClient client, ReadOnlySpan<byte> data);
}
