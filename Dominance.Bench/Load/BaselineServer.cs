using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dominance.Bench.Load;

/// <summary>
/// The baseline of <c>load --baseline</c>: the WebSocket chat server a developer writes by hand on Kestrel with no
/// framework. Each connection's handler reads a message and, for <c>chat</c>, sends it to every client in turn, each
/// send under that client's lock (WebSocket allows one send at a time). It understands just what the load tool sends:
/// <c>connect guest</c> and <c>chat &lt;text&gt;</c>. Runs in its own process: <c>Dominance.Bench baseline-server [port]</c>.
/// </summary>
internal static class BaselineServer
{
    /// <summary>The line printed once the server listens; the load tool reads the address from it.</summary>
    public const string ListeningPrefix = "Baseline listening on ";

    public static async Task<int> RunAsync(string[] args)
    {
        int port = args.Length > 0 ? int.Parse(args[0]) : 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        WebApplication app = builder.Build();
        app.UseWebSockets();

        var clients = new ConcurrentDictionary<int, Client>();
        int nextId = 0;
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
            var me = new Client(socket, Interlocked.Increment(ref nextId));
            clients[me.Id] = me;
            try
            {
                var buffer = new byte[8192];
                while (true)
                {
                    WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    string text = Encoding.UTF8.GetString(buffer, 0, result.Count);
                    if (text.StartsWith("chat ", StringComparison.Ordinal))
                    {
                        byte[] message = Encoding.UTF8.GetBytes($"[chat] Guest{me.Id}: {text[5..]}");
                        foreach (Client client in clients.Values)
                        {
                            await client.SendAsync(message);
                        }
                    }
                    else if (text == "connect guest")
                    {
                        await me.SendAsync(Encoding.UTF8.GetBytes($"Welcome, Guest{me.Id}!"));
                    }
                    else
                    {
                        await me.SendAsync(Encoding.UTF8.GetBytes("Unknown command."));
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The client went away.
            }
            finally
            {
                clients.TryRemove(me.Id, out _);
            }
        });

        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Console.WriteLine(ListeningPrefix + address);
        await app.WaitForShutdownAsync();
        return 0;
    }

    private sealed class Client(WebSocket socket, int id)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);

        public int Id => id;

        public async Task SendAsync(byte[] message)
        {
            await _sending.WaitAsync();
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }
            catch (WebSocketException)
            {
                // That client went away; the others still get the message.
            }
            finally
            {
                _sending.Release();
            }
        }
    }
}
