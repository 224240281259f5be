using System.Net;
using System.Net.Sockets;

namespace DistributedBackprop.Actors;

/// <summary>A port on 127.0.0.1 that nothing listens on now: for the nodes a benchmark or a test starts on this machine.</summary>
public static class FreePort
{
    public static int OnLoopback()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
